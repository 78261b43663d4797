// The /_sim/ control API: set up users and calendars, inject faults, move the clock, read logs.
//
// All bodies and answers are JSON. Endpoints:
//   GET    /_sim/health                          -> {ok:true, now}
//   POST   /_sim/users {email, refreshToken, timeZone?, scopes?, sub?, refreshTokenTtlSeconds?}
//                                                -> 201 {email, calendarId, sub}; creates the user (a
//                                                   Google account with a stable `sub`) and a primary
//                                                   calendar whose id is the email, and a grant: the
//                                                   refresh token with the scopes granted (explicit
//                                                   scopes are enforced: 403 insufficientPermissions).
//                                                   Again for an existing user: another grant (the
//                                                   same refresh token: a fresh grant). A refresh token
//                                                   belongs to one account only (400 otherwise)
//   GET    /_sim/users/{email}                   -> {email, sub, grants: [{refreshToken, scopes,
//                                                   enforceScopes, issuedAt, expiresAt, failure}]}
//   POST   /_sim/users/{email}/revoke {refreshToken?}
//                                                -> 204; every grant (or the one named) is revoked:
//                                                   refreshes answer invalid_grant, access tokens 401
//   POST   /_sim/users/{email}/invalid-grant {variant, refreshToken?}
//                                                -> 204; like revoke, refreshes answer the variant:
//                                                   'revoked' | 'bad_request' | 'invalid_rapt'
//   POST   /_sim/oauth {publishingStatus}        -> 204; 'testing': refresh tokens issued from now on
//                                                   expire after 7 days; 'production': no expiry
//   POST   /_sim/users/{email}/expire-sync-tokens-> 204; calendarList sync tokens answer 410
//   POST   /_sim/calendars {owner, id?, summary?, timeZone?, description?}
//                                                -> 201 {id}; secondary calendar in owner's calendarList
//   POST   /_sim/calendars/{id}/share {email, role?='writer'} -> 204; an ACL change, as in Google's
//                                                   UI: adds it to the user's calendarList (role
//                                                   owner|writer|reader|freeBusyReader), notifies the
//                                                   calendar's watchers without a delta, and with
//                                                   aclChangesInvalidateSyncTokens its sync tokens 410
//   POST   /_sim/calendars/{id}/unshare {email}  -> 204; the same, removing it (their calls 404)
//   POST   /_sim/calendars/{id}/delete           -> 204; calendar gone for everyone (404), watchers
//   DELETE /_sim/calendars/{id}                     get `not_exists`
//   POST   /_sim/calendars/{id}/push-unsupported {value?=true} -> 204; watch answers 400
//                                                   pushNotSupportedForRequestedResource
//   POST   /_sim/calendars/{id}/expire-sync-tokens -> 204; its events sync tokens answer 410
//   POST   /_sim/calendars/{id}/split {eventId, at, summary?, description?, location?, shiftMinutes?}
//                                                -> 201 {id, event}; Google's UI "this and following":
//                                                   the series `eventId` ends before the occurrence
//                                                   `at` (key, instance id or RFC 3339 start), a new
//                                                   master `<base>_R<YYYYMMDDTHHMMSS>` (new iCalUID)
//                                                   continues with the changes; its instances keep
//                                                   `<base>_<YYYYMMDDTHHMMSSZ>` ids (series-split.ts)
//   POST   /_sim/calendars/{id}/seed {count, from?, spacingMinutes?=60, durationMinutes?=30, summaryPrefix?}
//                                                -> 201 {inserted}; `count` (≤ 50,000) timed single events
//                                                   inserted through events.insert's own code path,
//                                                   announced by ONE notification (large fixtures fast)
//   POST   /_sim/faults {method?, path?, status?, reason?, message?, body?, hold?, latencyMs?, count}
//                                                -> 201 {id}; path is a prefix or `/regex/flags`;
//                                                   status: answer that error (body 'html': Google's
//                                                   HTML error page); hold: the answer is computed on
//                                                   arrival and withheld until released; latencyMs:
//                                                   computed on arrival, sent that many ms later
//   GET    /_sim/held                            -> [{id, method, path, query, user?, at}] withheld answers
//   POST   /_sim/held/{id}/release               -> 204 (404 unknown); POST /_sim/held/all/release
//                                                   -> {released}
//   GET    /_sim/faults                          -> pending faults;  DELETE /_sim/faults -> clear
//   POST   /_sim/clock {advanceMs}               -> {now}; GET /_sim/clock -> {now}
//   GET    /_sim/requests                        -> [{method, path, query, status, user?, at}] (API and
//                                                   /token calls, never /_sim/);  DELETE -> clear
//   GET    /_sim/channels                        -> [{id, kind, target, resourceId, resourceUri,
//                                                   address, token?, expiration, owner, stopped, expired}]
//   GET    /_sim/notifications                   -> delivery attempts [{channelId, state,
//                                                   messageNumber, attempt, status, at}];  DELETE -> clear
//   POST   /_sim/latency {ms}                    -> 204; delay before every API / token answer
//   POST   /_sim/drop-rate {rate}                -> 204; share of `exists` notifications dropped
//   POST   /_sim/stragglers {count}              -> 204; next `count` channels.stop each let one
//                                                   late `exists` through
//   POST   /_sim/paging {emptyPageRate?, shortPageRate?, emptyLastPageRate?} -> 204; forced
//                                                   empty/short list pages, empty last pages
//   GET    /_sim/realism                         -> the realism knobs in force (realism.ts)
//   POST   /_sim/realism {preset?: 'google'|'off', ...knobs} -> the knobs now in force; the preset
//                                                   first, then the knobs given (unknown knob: 400)
//   POST   /_sim/rate-limit {perMinute}          -> 204; per-user requests per minute
//   POST   /_sim/idle                            -> 204 once no notification delivery is pending
import type { IncomingMessage } from 'node:http';
import type { ApiContext, SimSettings } from './context.js';
import { insertEvent } from './events.js';
import { applyRealism } from './realism.js';
import { splitSeries } from './series-split.js';
import { TokenCodec } from './tokens.js';
import type { Faults, FaultSpec, HeldRequests } from './faults.js';
import { parseJsonObject, Query, readBody, type Reply } from './http.js';
import { subFor, type OAuth } from './oauth.js';
import type { Store } from './store.js';
import type { Notifier } from './watch.js';
import type { SimClock } from './clock.js';

export interface RequestLogEntry {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  status: number;
  user?: string;
  at: number;
}

export interface ControlDeps {
  store: Store;
  oauth: OAuth;
  faults: Faults;
  held: HeldRequests;
  notifier: Notifier;
  clock: SimClock;
  settings: SimSettings;
  requests: RequestLogEntry[];
}

class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function str(body: Record<string, unknown>, name: string, required = true): string | undefined {
  const v = body[name];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v === '')
    throw new ControlError(400, `${name} (string) is required`);
  return v;
}

function strings(body: Record<string, unknown>, name: string): string[] | undefined {
  const v = body[name];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw new ControlError(400, `${name} must be an array of strings`);
  return v as string[];
}

function num(body: Record<string, unknown>, name: string, min = 0, max = Infinity): number {
  const v = body[name];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new ControlError(400, `${name} must be a number in [${min}, ${max}]`);
  }
  return v;
}

export async function handleControl(
  deps: ControlDeps,
  req: IncomingMessage,
  path: string,
): Promise<Reply> {
  try {
    const body = req.method === 'GET' ? {} : parseJsonObject(await readBody(req));
    return await route(deps, req.method ?? 'GET', path, body);
  } catch (e) {
    if (e instanceof ControlError) return { status: e.status, body: { error: e.message } };
    return { status: 400, body: { error: e instanceof Error ? e.message : String(e) } };
  }
}

async function route(
  deps: ControlDeps,
  method: string,
  path: string,
  body: Record<string, unknown>,
): Promise<Reply> {
  const { store, notifier, faults, clock, settings } = deps;
  const seg = path.split('/').slice(2).map(decodeURIComponent); // ['', '_sim', ...]
  const [a, b, c] = seg;
  const key = `${method} ${a ?? ''}${b !== undefined ? '/:' : ''}${c !== undefined ? `/${c}` : ''}`;
  switch (key) {
    case 'GET health':
      return { status: 200, body: { ok: true, now: clock.now() } };
    case 'POST users': {
      const email = str(body, 'email')!;
      const user = store.createUser(email, str(body, 'sub', false) ?? subFor(email, settings.seed));
      deps.oauth.addGrant(user, str(body, 'refreshToken')!, {
        scopes: strings(body, 'scopes'),
        refreshTokenTtlSeconds:
          body.refreshTokenTtlSeconds === undefined
            ? undefined
            : num(body, 'refreshTokenTtlSeconds', 1),
      });
      const tz = str(body, 'timeZone', false);
      if (tz) store.calendars.get(email)!.timeZone = tz;
      return { status: 201, body: { email: user.email, calendarId: email, sub: user.sub } };
    }
    case 'GET users/:': {
      const user = store.user(b!);
      return {
        status: 200,
        body: {
          email: user.email,
          sub: user.sub,
          grants: [...user.grants.values()].map((g) => ({
            refreshToken: g.refreshToken,
            scopes: g.scopes,
            enforceScopes: g.enforceScopes,
            issuedAt: g.issuedAt,
            expiresAt: g.expiresAt ?? null,
            failure: g.failure ?? null,
          })),
        },
      };
    }
    case 'POST users/:/revoke':
      deps.oauth.revoke(b!, 'revoked', str(body, 'refreshToken', false));
      return { status: 204 };
    case 'POST users/:/invalid-grant': {
      const variant = str(body, 'variant')!;
      if (variant !== 'revoked' && variant !== 'bad_request' && variant !== 'invalid_rapt')
        throw new ControlError(400, 'variant must be revoked, bad_request or invalid_rapt');
      deps.oauth.revoke(b!, variant, str(body, 'refreshToken', false));
      return { status: 204 };
    }
    case 'POST oauth': {
      const status = str(body, 'publishingStatus')!;
      if (status !== 'production' && status !== 'testing')
        throw new ControlError(400, 'publishingStatus must be production or testing');
      deps.oauth.opts.publishingStatus = status;
      return { status: 204 };
    }
    case 'POST users/:/expire-sync-tokens':
      store.user(b!).listEpoch++;
      return { status: 204 };
    case 'POST calendars': {
      const owner = str(body, 'owner')!;
      const cal = store.createCalendar(owner, {
        id: str(body, 'id', false),
        summary: str(body, 'summary', false),
        timeZone: str(body, 'timeZone', false),
        description: str(body, 'description', false),
      });
      return { status: 201, body: { id: cal.id } };
    }
    case 'POST calendars/:/share': {
      // Sharing in Google's UI is an ACL change (store.setAcl): the user's calendarList gains it.
      const cal = calendar(store, b!);
      const role = str(body, 'role', false) ?? 'writer';
      if (!['owner', 'writer', 'reader', 'freeBusyReader'].includes(role))
        throw new ControlError(400, 'role must be owner, writer, reader or freeBusyReader');
      const email = store.user(str(body, 'email')!).email;
      store.setAcl(cal, {
        id: `user:${email}`,
        role: role as 'owner' | 'writer' | 'reader' | 'freeBusyReader',
        scope: { type: 'user', value: email },
      });
      return { status: 204 };
    }
    case 'POST calendars/:/unshare': {
      const cal = calendar(store, b!);
      const email = store.user(str(body, 'email')!).email;
      store.setAcl(cal, { id: `user:${email}`, role: 'none' });
      return { status: 204 };
    }
    case 'POST calendars/:/delete':
    case 'DELETE calendars/:':
      calendar(store, b!);
      store.deleteCalendar(b!);
      return { status: 204 };
    case 'POST calendars/:/push-unsupported':
      calendar(store, b!).pushUnsupported = body.value === undefined ? true : body.value === true;
      return { status: 204 };
    case 'POST calendars/:/seed':
      return seedEvents(deps, b!, body);
    case 'POST calendars/:/split': {
      const c = calendar(store, b!);
      const shift = body.shiftMinutes;
      if (shift !== undefined && (typeof shift !== 'number' || !Number.isInteger(shift)))
        throw new ControlError(400, 'shiftMinutes must be a whole number');
      const event = splitSeries(store, c, str(body, 'eventId')!, str(body, 'at')!, {
        summary: str(body, 'summary', false),
        description: str(body, 'description', false),
        location: str(body, 'location', false),
        shiftMinutes: shift,
      });
      return { status: 201, body: { id: event.id, event } };
    }
    case 'POST calendars/:/expire-sync-tokens':
      calendar(store, b!).epoch++;
      return { status: 204 };
    case 'POST faults': {
      const id = faults.add(body as unknown as FaultSpec);
      return { status: 201, body: { id } };
    }
    case 'GET held':
      return { status: 200, body: deps.held.list() };
    case 'POST held/:/release':
      if (b === 'all') return { status: 200, body: { released: deps.held.releaseAll() } };
      if (!deps.held.release(Number(b))) throw new ControlError(404, `no held request ${b ?? ''}`);
      return { status: 204 };
    case 'GET faults':
      return { status: 200, body: faults.list() };
    case 'DELETE faults':
      faults.clear();
      return { status: 204 };
    case 'POST clock':
      clock.advance(num(body, 'advanceMs'));
      return { status: 200, body: { now: clock.now() } };
    case 'GET clock':
      return { status: 200, body: { now: clock.now() } };
    case 'GET requests':
      return { status: 200, body: deps.requests };
    case 'DELETE requests':
      deps.requests.length = 0;
      return { status: 204 };
    case 'GET channels':
      return {
        status: 200,
        body: [...notifier.channels.values()].map((ch) => ({
          id: ch.id,
          kind: ch.kind,
          target: ch.target,
          resourceId: ch.resourceId,
          resourceUri: ch.resourceUri,
          address: ch.address,
          token: ch.token,
          expiration: ch.expiration,
          owner: ch.owner,
          stopped: ch.stopped,
          expired: clock.now() >= ch.expiration,
        })),
      };
    case 'GET notifications':
      return { status: 200, body: notifier.deliveries };
    case 'DELETE notifications':
      notifier.deliveries.length = 0;
      return { status: 204 };
    case 'POST latency':
      faults.latencyMs = num(body, 'ms', 0, 600_000);
      return { status: 204 };
    case 'POST drop-rate':
      notifier.dropRate = num(body, 'rate', 0, 1);
      return { status: 204 };
    case 'POST stragglers':
      notifier.stragglersAfterStop = num(body, 'count', 0);
      return { status: 204 };
    case 'POST paging':
      applyRealism(settings.realism, {
        emptyPageRate: body.emptyPageRate,
        shortPageRate: body.shortPageRate,
        emptyLastPageRate: body.emptyLastPageRate,
      });
      return { status: 204 };
    case 'GET realism':
      return { status: 200, body: settings.realism };
    case 'POST realism':
      applyRealism(settings.realism, body);
      return { status: 200, body: settings.realism };
    case 'POST rate-limit':
      faults.rateLimitPerMinute = num(body, 'perMinute', 1);
      return { status: 204 };
    case 'POST idle':
      await notifier.idle();
      return { status: 204 };
    default:
      throw new ControlError(404, `unknown control endpoint ${method} ${path}`);
  }
}

function calendar(store: Store, id: string) {
  const cal = store.calendars.get(id);
  if (!cal || cal.deleted) throw new ControlError(404, `unknown calendar ${id}`);
  return cal;
}

/** Bulk fixture: inserts generated events exactly as events.insert would, with one notification. */
function seedEvents(deps: ControlDeps, calendarId: string, body: Record<string, unknown>): Reply {
  const { store, settings } = deps;
  const cal = store.calendars.get(calendarId);
  if (!cal) throw new ControlError(404, `no calendar ${calendarId}`);
  const owner = store.users.get(cal.owner);
  if (!owner) throw new ControlError(404, `no owner for ${calendarId}`);
  const count = body.count;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 50_000) {
    throw new ControlError(400, 'count must be a whole number from 1 to 50000');
  }
  const num = (name: string, fallback: number) => {
    const v = body[name];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !(v > 0))
      throw new ControlError(400, `${name} must be a positive number`);
    return v;
  };
  const spacingMs = num('spacingMinutes', 60) * 60_000;
  const durationMs = num('durationMinutes', 30) * 60_000;
  const from = str(body, 'from', false) ?? new Date(deps.clock.now()).toISOString();
  const fromMs = Date.parse(from);
  if (Number.isNaN(fromMs)) throw new ControlError(400, 'from must be an RFC 3339 time');
  const prefix = str(body, 'summaryPrefix', false) ?? 'Event';
  // One change, one notification: the inserts share one operation (and one visibility lag).
  store.batching = true;
  try {
    for (let i = 0; i < count; i++) {
      const start = new Date(fromMs + i * spacingMs).toISOString().replace('.000Z', 'Z');
      const end = new Date(fromMs + i * spacingMs + durationMs).toISOString().replace('.000Z', 'Z');
      const ctx: ApiContext = {
        store,
        tokens: new TokenCodec(),
        settings,
        user: owner,
        query: new Query(new URLSearchParams()),
        body: { summary: `${prefix} ${i + 1}`, start: { dateTime: start }, end: { dateTime: end } },
        headers: {},
        clientId: 'sim-seed',
      };
      insertEvent(ctx, cal);
    }
  } finally {
    store.batching = false;
  }
  store.changed(cal);
  return { status: 201, body: { inserted: count } };
}
