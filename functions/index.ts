// Entry point: registers the functions-framework targets. Heavy modules load on first use only,
// so each deployment (one per target) pays only for its own code at cold start.
//
// Conventions of the tree (said once, here):
// - Every file opens with one line saying what it is for.
// - `deps.ts` in a module folder (sync/, channels/, cli/) has one role and one shape: the interface
//   of everything that module's core needs from outside (Firestore, the Calendar API factory, config
//   slice, logger, clock), so the core is tested without the cloud, plus at most a helper that
//   derives one module's deps from another's. Entry points (webhook/, worker/, renewal/, cli/) build
//   the real ones once per instance.
// - Folders sit on floors and import only downward (.dependency-cruiser.cjs, run by `npm run lint`).
import * as ff from '@google-cloud/functions-framework';
import { validateTargetConfig } from './startup.js';
import { webhook } from './webhook/function.js';

validateTargetConfig(process.env);

// Targets are registered below, one line each: webhook, syncWorker, renewChannels.
ff.http('webhook', webhook);
ff.cloudEvent('syncWorker', async (e: ff.CloudEvent<unknown>) =>
  (await import('./worker/function.js')).syncWorker(e),
);
ff.http('renewChannels', async (req, res) =>
  (await import('./renewal/function.js')).renewChannels(req, res),
);
