// functions-framework HTTP target `webhook`: builds config and publisher once per instance, delegates to the core.
import type { HttpFunction, Request, Response } from '@google-cloud/functions-framework';
import { ConfigError, parseConfig, type WebhookConfig } from '../config.js';
import { log as processLog, type Logger } from '../log.js';
import { outsideRequestDomain } from '../outside-domain.js';
import { handleWebhook, type Publisher, type WebhookResponse } from './handler.js';
import { pubsubPublisher } from './publisher.js';
import { createSampler, type Sampler } from './sampler.js';

export interface WebhookOptions {
  /** Environment to configure from (default: process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly logger?: Logger;
  readonly clock?: () => Date;
  /** How to publish (default: a Pub/Sub publisher on config.topic). */
  readonly publisher?: (config: Readonly<WebhookConfig>) => Publisher;
}

type Runtime =
  | { ok: true; config: Readonly<WebhookConfig>; publisher: Publisher; sampler: Sampler }
  | { ok: false; problems: readonly string[] };

/** Creates a webhook HttpFunction; its config and publisher are made on first use and then reused. */
export function createWebhook(options: WebhookOptions = {}): HttpFunction {
  const logger = options.logger ?? processLog;
  const clock = options.clock ?? (() => new Date());
  let runtime: Runtime | undefined;

  const init = (): Runtime => {
    if (runtime) return runtime;
    try {
      // parseConfig pins the channel secrets in the logger itself.
      const config = parseConfig(options.env ?? process.env, 'webhook');
      const publisher = (options.publisher ?? pubsubPublisher)(config);
      const sampler = createSampler(config.rejectionLogsPerMinute, 60_000, () => clock().getTime());
      runtime = { ok: true, config, publisher, sampler };
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      // Answering 500 makes Google retry with backoff, so nothing is lost while this is fixed.
      logger.error('webhook configuration is invalid; answering 500 until it is fixed', {
        problems: err.problems,
      });
      runtime = { ok: false, problems: err.problems };
    }
    return runtime;
  };

  return async (req: Request, res: Response) => {
    let out: WebhookResponse;
    try {
      const rt = init();
      if (!rt.ok) {
        out = { status: 500, body: 'server misconfigured\n' };
      } else {
        const announced = Number(req.headers['content-length'] ?? 0);
        const bodyBytes = Math.max(
          req.rawBody?.length ?? 0,
          Number.isFinite(announced) ? announced : 0,
        );
        const deps = {
          config: rt.config,
          publisher: rt.publisher,
          logger,
          clock,
          sampler: rt.sampler,
        };
        out = await outsideRequestDomain(() =>
          handleWebhook({ method: req.method, headers: req.headers, bodyBytes }, deps),
        );
      }
    } catch (err) {
      logger.error('webhook failed unexpectedly', { err });
      out = { status: 500, body: 'internal error\n' };
    }
    send(res, out);
  };
}

function send(res: Response, out: WebhookResponse): void {
  for (const [name, value] of Object.entries(out.headers ?? {})) res.set(name, value);
  res.set('Cache-Control', 'no-store');
  if (out.status === 204 || out.body === '') {
    res.status(out.status).end();
    return;
  }
  res.status(out.status).type('text/plain; charset=utf-8').send(out.body);
}

/** The deployed target: configured from process.env, publishing to Pub/Sub. */
export const webhook: HttpFunction = createWebhook();
