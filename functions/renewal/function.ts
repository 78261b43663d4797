// functions-framework HTTP target `renewChannels`: POST only; config, Firestore, Pub/Sub and Calendar clients made once per instance.
import type { HttpFunction, Request, Response } from '@google-cloud/functions-framework';
import { Firestore } from '@google-cloud/firestore';
import { calendarApiFactory } from '../calendar/client.js';
import { pubsubChangePublisher } from '../changes/publisher.js';
import { ConfigError, parseConfig, type RenewalConfig } from '../config.js';
import { log as processLog, registerSecret, type Logger } from '../log.js';
import { renewChannelsCore, type RenewalDeps } from './core.js';
import { pubsubEnqueuer, type Enqueuer } from './enqueue.js';
import { outsideRequestDomain } from '../outside-domain.js';

export interface RenewalFunctionOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly logger?: Logger;
  readonly now?: () => number;
  /** Replace the Pub/Sub enqueuer (tests). */
  readonly enqueuer?: (config: Readonly<RenewalConfig>) => Enqueuer;
}

type Runtime = { ok: true; deps: RenewalDeps } | { ok: false; problems: readonly string[] };

/** Builds the HttpFunction; everything expensive is created on the first request and reused. */
export function createRenewChannels(options: RenewalFunctionOptions = {}): HttpFunction {
  const logger = options.logger ?? processLog;
  let runtime: Runtime | undefined;
  /** A run in progress on this instance: a second request waits for it instead of starting another. */
  let running: Promise<unknown> | undefined;

  const init = (): Runtime => {
    if (runtime) return runtime;
    try {
      const config = parseConfig(options.env ?? process.env, 'renewal');
      registerSecret(config.channelSecrets.current);
      registerSecret(config.channelSecrets.previous);
      registerSecret(config.oauth.clientSecret);
      runtime = {
        ok: true,
        deps: {
          db: new Firestore({ projectId: config.projectId }),
          config,
          calendarApi: calendarApiFactory(config),
          enqueuer: (options.enqueuer ?? pubsubEnqueuer)(config),
          logger,
          now: options.now ?? Date.now,
          // A calendar added by the hourly reconcile is fully synced here: announce it.
          ...(config.changesTopic
            ? { changes: pubsubChangePublisher(config.projectId, config.changesTopic) }
            : {}),
        },
      };
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      logger.error('renewChannels configuration is invalid', { problems: err.problems });
      runtime = { ok: false, problems: err.problems };
    }
    return runtime;
  };

  return async (req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store');
    if (req.method !== 'POST') {
      res.set('Allow', 'POST').status(405).type('text/plain').send('method not allowed\n');
      return;
    }
    try {
      const rt = init();
      if (!rt.ok) {
        res.status(500).type('text/plain').send('server misconfigured\n');
        return;
      }
      const deps = rt.deps;
      const run = (running ??= outsideRequestDomain(() => renewChannelsCore(deps)).finally(
        () => (running = undefined),
      ));
      const summary = await run;
      res.status(200).json(summary);
    } catch (err) {
      logger.error('renewChannels failed', { error: err });
      res.status(500).type('text/plain').send('internal error\n');
    }
  };
}

/** The deployed target. */
export const renewChannels: HttpFunction = createRenewChannels();
