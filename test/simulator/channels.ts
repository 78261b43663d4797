// events.watch, calendarList.watch and channels.stop: validation and the api#channel response.
// https://developers.google.com/calendar/api/guides/push and v3/reference/events/watch, channels/stop.
import type { ApiContext } from './context.js';
import { apiError, errors } from './errors.js';
import type { Reply } from './http.js';
import type { CalendarState } from './types.js';
import type { Channel, ChannelKind, Notifier } from './watch.js';

/** params.ttl default: 604800 s (7 days). The maximum is not documented; we cap at 30 days. */
export const DEFAULT_TTL_SECONDS = 604_800;
export const MAX_TTL_SECONDS = 30 * 24 * 3600;
/** How long watch waits for the first `sync` delivery attempt before answering. */
const SYNC_HEAD_START_MS = 300;

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function validateAddress(address: unknown): string {
  if (typeof address !== 'string' || address === '') throw errors.required('Required');
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw apiError(400, 'push.webhookUrlNotHttps', `WebHook callback must be HTTPS: ${address}`);
  }
  // HTTPS only — relaxed for loopback addresses so local tests can listen on plain HTTP.
  if (url.protocol === 'https:') return address;
  if (url.protocol === 'http:' && isLoopback(url.hostname)) return address;
  throw apiError(400, 'push.webhookUrlNotHttps', `WebHook callback must be HTTPS: ${address}`);
}

function readTtl(body: Record<string, unknown>): number {
  const params = body.params;
  if (params === undefined || params === null) return DEFAULT_TTL_SECONDS;
  if (typeof params !== 'object') throw errors.invalid();
  const ttl = (params as Record<string, unknown>).ttl;
  if (ttl === undefined) return DEFAULT_TTL_SECONDS;
  const n = Number(ttl);
  if (!Number.isInteger(n) || n <= 0) throw errors.invalid('Invalid value for ttl parameter.');
  return Math.min(n, MAX_TTL_SECONDS);
}

export function createChannel(
  ctx: ApiContext,
  notifier: Notifier,
  kind: ChannelKind,
  target: { id: string; resourceId: string; uri: string; pushUnsupported: boolean },
): Promise<Reply> {
  const b = ctx.body;
  if (typeof b.id !== 'string' || b.id === '') throw errors.required('Required');
  if (b.id.length > 64 || !/^[A-Za-z0-9\-_+/=]+$/.test(b.id))
    throw errors.invalid('Invalid channel id.');
  if (notifier.channels.has(b.id))
    throw apiError(400, 'channelIdNotUnique', `Channel id ${b.id} not unique`);
  if (b.type !== 'web_hook' && b.type !== 'webhook') throw errors.invalid('Invalid channel type.');
  const address = validateAddress(b.address);
  if (b.token !== undefined && (typeof b.token !== 'string' || b.token.length > 256)) {
    throw errors.invalid('Invalid channel token.');
  }
  if (target.pushUnsupported) {
    throw apiError(
      400,
      'pushNotSupportedForRequestedResource',
      'Push notifications are not supported by this resource.',
    );
  }
  const now = ctx.store.clock.now();
  let expiration = now + readTtl(b) * 1000;
  if (b.expiration !== undefined) {
    const req = Number(b.expiration);
    if (!Number.isFinite(req)) throw errors.invalid();
    if (req > now) expiration = Math.min(expiration, req);
  }
  const ch: Channel = {
    id: b.id,
    kind,
    target: target.id,
    resourceId: target.resourceId,
    resourceUri: target.uri,
    token: typeof b.token === 'string' ? b.token : undefined,
    address,
    expiration,
    owner: ctx.user.email,
    clientId: ctx.clientId,
    stopped: false,
    lastNumber: 1,
    chain: Promise.resolve(),
  };
  const synced = notifier.add(ch);
  const body: Record<string, unknown> = {
    kind: 'api#channel',
    id: ch.id,
    resourceId: ch.resourceId,
    resourceUri: ch.resourceUri,
  };
  if (ch.token !== undefined) body.token = ch.token;
  body.expiration = String(ch.expiration);
  // The sync message may arrive before the watch response: give it a head start.
  const headStart = new Promise<void>((r) => setTimeout(r, SYNC_HEAD_START_MS).unref());
  return Promise.race([synced, headStart]).then(() => ({ status: 200, body }));
}

export function watchEvents(
  ctx: ApiContext,
  notifier: Notifier,
  cal: CalendarState,
  calendarIdAsGiven: string,
): Promise<Reply> {
  const uri = `${ctx.settings.baseUrl}/calendar/v3/calendars/${encodeURIComponent(calendarIdAsGiven)}/events?alt=json`;
  return createChannel(ctx, notifier, 'events', {
    id: cal.id,
    resourceId: cal.resourceId,
    uri,
    pushUnsupported: cal.pushUnsupported,
  });
}

export function watchCalendarList(ctx: ApiContext, notifier: Notifier): Promise<Reply> {
  return createChannel(ctx, notifier, 'calendarList', {
    id: ctx.user.email,
    resourceId: ctx.user.listResourceId,
    uri: `${ctx.settings.baseUrl}/calendar/v3/users/me/calendarList?alt=json`,
    pushUnsupported: false,
  });
}

/** channels.stop: 204; unknown, stopped or another user's channel, or resourceId mismatch -> 404. */
export function stopChannel(ctx: ApiContext, notifier: Notifier): Reply {
  const { id, resourceId } = ctx.body;
  if (typeof id !== 'string' || id === '') throw errors.required('Required');
  const ch = notifier.channels.get(id);
  // Only the user and OAuth client that made a channel may stop it; Google does not say what
  // others get — we answer 404 like an unknown channel.
  if (!ch || ch.stopped || ch.owner !== ctx.user.email || ch.clientId !== ctx.clientId) {
    throw apiError(404, 'notFound', `Channel '${id}' not found for project`);
  }
  if (resourceId !== undefined && resourceId !== ch.resourceId) {
    throw apiError(404, 'notFound', `Channel '${id}' not found for project`);
  }
  notifier.stop(ch);
  return { status: 204 };
}
