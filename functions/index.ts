// Entry point: registers the functions-framework targets. Heavy modules load on first use only,
// so each deployment (one per target) pays only for its own code at cold start.
import * as ff from '@google-cloud/functions-framework';
import { validateTargetConfig } from './startup.js';
import { webhook } from './webhook/function.js';

validateTargetConfig(process.env);

// Targets are registered below, one line each: webhook, syncWorker, renewChannels.
ff.http('webhook', webhook);
ff.cloudEvent('syncWorker', async (e: ff.CloudEvent<unknown>) =>
  (await import('./sync/function.js')).syncWorker(e),
);
ff.http('renewChannels', async (req, res) =>
  (await import('./renewal/function.js')).renewChannels(req, res),
);
