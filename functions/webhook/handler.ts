// Webhook core: turns one HTTP request from Google into a verified Pub/Sub message and a status code.
import type { IncomingHttpHeaders } from 'node:http';
import { verifyChannelToken, type ChannelTokenVerdict } from '../channels/token.js';
import type { WebhookConfig } from '../config.js';
import { LOG_EVENTS } from '../log-events.js';
import type { Logger } from '../log.js';
import type { NotificationMessage } from '../messages.js';
import {
  channelIdForLog,
  displayName,
  hasGoogleHeaders,
  parseNotificationHeaders,
  type NotificationHeaders,
} from './headers.js';
import type { Sampler } from './sampler.js';

/** The one thing the webhook needs from Pub/Sub; resolves with the message id once the publish is acked. */
export interface Publisher {
  publish(message: NotificationMessage, attributes: Record<string, string>): Promise<string>;
  /**
   * Optional: resolves once the client is loaded. The publish timeout starts after it, so a cold
   * instance's one-off library load is not mistaken for a Pub/Sub outage.
   */
  ready?(): Promise<void>;
}

export interface WebhookDeps {
  readonly config: Pick<WebhookConfig, 'channelSecrets' | 'publishTimeoutMs' | 'channelTokens'>;
  readonly publisher: Publisher;
  readonly logger: Logger;
  readonly clock: () => Date;
  /** Samples rejection log lines (per reason and minute); absent = every rejection is logged. */
  readonly sampler?: Sampler;
}

/** What the core reads from a request: transport-neutral, so it runs without a server. */
export interface WebhookRequest {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  /** Size of the body actually received (or announced by Content-Length, whichever is larger). */
  readonly bodyBytes: number;
}

export interface WebhookResponse {
  readonly status: number;
  /** Short plain-text body; empty for 204. Never contains a header value. */
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Google sends an empty body; anything above this is not a notification. */
export const MAX_BODY_BYTES = 4096;
export const ALLOW = 'POST, GET, HEAD';

export class PublishTimeoutError extends Error {
  constructor(ms: number) {
    super(`publish not acknowledged within ${ms} ms`);
    this.name = 'PublishTimeoutError';
  }
}

/**
 * Pub/Sub attributes of a notification: the same as messageAttributes() in messages.ts (a unit test
 * holds them equal), written out here because importing messages.ts at run time loads zod, which
 * would be most of the webhook's cold-start module load.
 */
export function notificationAttributes(message: NotificationMessage): Record<string, string> {
  return { kind: message.kind, subscriptionId: message.subscriptionId, state: message.state };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PublishTimeoutError(ms)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const text = (status: number, body: string, headers?: Record<string, string>): WebhookResponse =>
  headers ? { status, body, headers } : { status, body };

/**
 * Handles one notification. Order: method → body size → headers → token → publish.
 * 204 is returned only after Pub/Sub acknowledged the publish; a failed or slow publish is a 503,
 * which Google retries. Every rejection is logged at WARNING with its reason and the channel id.
 */
export async function handleWebhook(
  req: WebhookRequest,
  deps: WebhookDeps,
): Promise<WebhookResponse> {
  const reject = rejecter(req, deps);
  const checked = screenRequest(req, reject) ?? authenticate(req, deps, reject);
  if ('status' in checked) return checked;
  const { n, verdict } = checked;
  const log = deps.logger.child({
    subscriptionId: verdict.subscriptionId,
    channelId: n.channelId,
    messageNumber: n.messageNumber,
    state: n.state,
  });
  if (verdict.key === 'previous') log.info('channel token verified with the previous secret');
  if (verdict.version === 1 && (deps.sampler?.('channel_token_v1').log ?? true)) {
    log.info(LOG_EVENTS.channelTokenV1.message);
  }
  if (n.state === 'sync') {
    // The channel is live. Nothing to fetch: the connect / renewal flow that opened it syncs by itself.
    log.info('channel confirmed (sync)');
    return text(204, '');
  }
  const message: NotificationMessage = {
    v: 1,
    kind: 'notification',
    subscriptionId: verdict.subscriptionId,
    channelId: n.channelId,
    resourceId: n.resourceId,
    state: n.state,
    messageNumber: n.messageNumber,
    receivedAt: deps.clock().toISOString(),
  };
  return publishNotification(deps, message, log);
}

type Reject = (
  status: number,
  reason: string,
  body: string,
  extra?: Record<string, string>,
) => WebhookResponse;

/** A rejection: logged at WARNING (sampled per reason) with the channel id, never a header value. */
function rejecter(req: WebhookRequest, deps: WebhookDeps): Reject {
  return (status, reason, body, extra) => {
    const sample = deps.sampler?.(reason) ?? { log: true, suppressed: 0, limitReached: false };
    if (sample.log) {
      deps.logger.warn(LOG_EVENTS.notificationRejected.message, {
        status,
        reason,
        channelId: channelIdForLog(req.headers),
        method: req.method,
        suppressed: sample.suppressed,
        ...(sample.limitReached
          ? { sampling: 'further rejections for this reason are counted' }
          : {}),
      });
    }
    return text(status, body, extra);
  };
}

/** Method and body size: the answer for anything that is not a POST of a notification's size. */
function screenRequest(req: WebhookRequest, reject: Reject): WebhookResponse | undefined {
  const method = req.method.toUpperCase();
  if (method === 'GET' || method === 'HEAD') {
    // Google only ever POSTs; a bare GET is a load-balancer or uptime probe. Anything Google-shaped is refused.
    if (!hasGoogleHeaders(req.headers)) return text(200, 'ok\n');
    return reject(405, 'method_not_allowed', 'method not allowed\n', { Allow: ALLOW });
  }
  if (method !== 'POST') {
    return reject(405, 'method_not_allowed', 'method not allowed\n', { Allow: ALLOW });
  }
  if (req.bodyBytes > MAX_BODY_BYTES) {
    return reject(413, 'body_too_large', 'request body too large\n');
  }
  return undefined;
}

/** Headers, then the channel token: the notification and whose it is, or the rejection. */
function authenticate(
  req: WebhookRequest,
  deps: WebhookDeps,
  reject: Reject,
):
  | WebhookResponse
  | { n: NotificationHeaders; verdict: Extract<ChannelTokenVerdict, { ok: true }> } {
  const parsed = parseNotificationHeaders(req.headers);
  if (!parsed.ok) {
    const what = parsed.problem.startsWith('missing')
      ? 'missing'
      : parsed.problem.startsWith('unknown')
        ? 'unknown'
        : 'malformed';
    return reject(400, parsed.problem, `${what} ${displayName(parsed.header)}\n`);
  }
  const n = parsed.value;
  if (n.token === undefined) {
    return reject(401, 'token_missing', 'missing X-Goog-Channel-Token\n');
  }
  const verdict = verifyChannelToken(deps.config.channelSecrets, n.channelId, n.token, {
    ...deps.config.channelTokens,
    now: deps.clock().getTime(),
  });
  if (!verdict.ok) {
    return reject(403, `token_${verdict.reason}`, 'invalid channel token\n');
  }
  return { n, verdict };
}

/** 204 once Pub/Sub acknowledged the message; 503 (Google retries) when it failed or was too slow. */
async function publishNotification(
  deps: WebhookDeps,
  message: NotificationMessage,
  log: Logger,
): Promise<WebhookResponse> {
  let started = Date.now();
  try {
    await deps.publisher.ready?.();
    started = Date.now();
    const messageId = await withTimeout(
      deps.publisher.publish(message, notificationAttributes(message)),
      deps.config.publishTimeoutMs,
    );
    log.info('notification published', { messageId, publishMs: Date.now() - started });
    return text(204, '');
  } catch (err) {
    log.error('publish failed; asking Google to retry', {
      reason: err instanceof PublishTimeoutError ? 'publish_timeout' : 'publish_failed',
      err,
      publishMs: Date.now() - started,
    });
    return text(503, 'temporarily unavailable, retry later\n', { 'Retry-After': '1' });
  }
}
