// node:http request handling: request log, latency, faults, auth, rate limit, then Google's routes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { deleteAcl, insertAcl, listAcl, writeCalendar } from './acl.js';
import { getCalendar, getCalendarListEntry, listCalendarList } from './calendar-list.js';
import { stopChannel, watchCalendarList, watchEvents } from './channels.js';
import type { ApiContext } from './context.js';
import { handleControl, type ControlDeps } from './control.js';
import { ApiError, errors } from './errors.js';
import { Faults } from './faults.js';
import { deleteEvent, getEvent, importEvent, insertEvent, writeEvent } from './events.js';
import { listEvents, listInstances } from './events-list.js';
import { errorReply, parseJsonObject, Query, readBody, send, type Reply } from './http.js';
import { insufficientScopes } from './oauth.js';
import type { TokenCodec } from './tokens.js';

export interface ServerDeps extends ControlDeps {
  tokens: TokenCodec;
  log: (msg: string) => void;
}

type Handler = (ctx: ApiContext, params: string[], d: ServerDeps) => Reply | Promise<Reply>;

interface Route {
  method: string;
  re: RegExp;
  handler: Handler;
  /** Google's method name (calendar.v3.Events.List), for error details. */
  name: string;
  /** Scopes that authorize the method (v3 discovery document, `scopes` of each method). */
  scopes: readonly string[];
}

const A = 'https://www.googleapis.com/auth/calendar';
/** Scope sets per kind of method, from the discovery document's per-method `scopes`. */
const SCOPES = {
  eventsRead: [
    A,
    `${A}.app.created`,
    `${A}.events`,
    `${A}.events.freebusy`,
    `${A}.events.owned`,
    `${A}.events.owned.readonly`,
    `${A}.events.public.readonly`,
    `${A}.events.readonly`,
    `${A}.readonly`,
  ],
  eventsWrite: [A, `${A}.app.created`, `${A}.events`, `${A}.events.owned`],
  listRead: [A, `${A}.calendarlist`, `${A}.calendarlist.readonly`, `${A}.readonly`],
  listGet: [
    A,
    `${A}.app.created`,
    `${A}.calendarlist`,
    `${A}.calendarlist.readonly`,
    `${A}.readonly`,
  ],
  calendarsRead: [
    A,
    `${A}.app.created`,
    `${A}.calendars`,
    `${A}.calendars.readonly`,
    `${A}.readonly`,
  ],
  calendarsWrite: [A, `${A}.app.created`, `${A}.calendars`],
  aclRead: [A, `${A}.acls`, `${A}.acls.readonly`],
  aclWrite: [A, `${A}.acls`],
  // channels.stop: every calendar scope (the discovery document lists them all).
  any: [
    A,
    `${A}.acls`,
    `${A}.acls.readonly`,
    `${A}.app.created`,
    `${A}.calendarlist`,
    `${A}.calendarlist.readonly`,
    `${A}.events`,
    `${A}.events.freebusy`,
    `${A}.events.owned`,
    `${A}.events.owned.readonly`,
    `${A}.events.public.readonly`,
    `${A}.events.readonly`,
    `${A}.readonly`,
    `${A}.settings.readonly`,
  ],
} as const;

const SEG = '([^/]+)';
const routes: Route[] = [];
function on(
  method: string,
  pattern: string,
  name: string,
  scopes: readonly string[],
  handler: Handler,
): void {
  routes.push({
    method,
    re: new RegExp(`^/calendar/v3${pattern.replaceAll(':p', SEG)}$`),
    handler,
    name: `calendar.v3.${name}`,
    scopes,
  });
}

const cal = (ctx: ApiContext, id: string) => ctx.store.calendarFor(ctx.user, id);
const S = SCOPES;

on('GET', '/calendars/:p/events', 'Events.List', S.eventsRead, (ctx, [c]) =>
  listEvents(ctx, cal(ctx, c!)),
);
on('POST', '/calendars/:p/events', 'Events.Insert', S.eventsWrite, (ctx, [c]) =>
  insertEvent(ctx, cal(ctx, c!)),
);
on('POST', '/calendars/:p/events/import', 'Events.Import', S.eventsWrite, (ctx, [c]) =>
  importEvent(ctx, cal(ctx, c!)),
);
on('POST', '/calendars/:p/events/watch', 'Events.Watch', S.eventsRead, (ctx, [c], d) =>
  watchEvents(ctx, d.notifier, cal(ctx, c!), c!),
);
on('GET', '/calendars/:p/events/:p/instances', 'Events.Instances', S.eventsRead, (ctx, [c, e]) =>
  listInstances(ctx, cal(ctx, c!), e!),
);
on('GET', '/calendars/:p/events/:p', 'Events.Get', S.eventsRead, (ctx, [c, e]) =>
  getEvent(ctx, cal(ctx, c!), e!),
);
on('PUT', '/calendars/:p/events/:p', 'Events.Update', S.eventsWrite, (ctx, [c, e]) =>
  writeEvent(ctx, cal(ctx, c!), e!, 'update'),
);
on('PATCH', '/calendars/:p/events/:p', 'Events.Patch', S.eventsWrite, (ctx, [c, e]) =>
  writeEvent(ctx, cal(ctx, c!), e!, 'patch'),
);
on('DELETE', '/calendars/:p/events/:p', 'Events.Delete', S.eventsWrite, (ctx, [c, e]) =>
  deleteEvent(ctx, cal(ctx, c!), e!),
);
on('GET', '/calendars/:p', 'Calendars.Get', S.calendarsRead, (ctx, [c]) => getCalendar(ctx, c!));
on('PATCH', '/calendars/:p', 'Calendars.Patch', S.calendarsWrite, (ctx, [c]) =>
  writeCalendar(ctx, cal(ctx, c!), 'patch'),
);
on('PUT', '/calendars/:p', 'Calendars.Update', S.calendarsWrite, (ctx, [c]) =>
  writeCalendar(ctx, cal(ctx, c!), 'update'),
);
on('GET', '/calendars/:p/acl', 'Acl.List', S.aclRead, (ctx, [c]) => listAcl(ctx, cal(ctx, c!)));
on('POST', '/calendars/:p/acl', 'Acl.Insert', S.aclWrite, (ctx, [c]) =>
  insertAcl(ctx, cal(ctx, c!)),
);
on('DELETE', '/calendars/:p/acl/:p', 'Acl.Delete', S.aclWrite, (ctx, [c, r]) =>
  deleteAcl(ctx, cal(ctx, c!), r!),
);
on('GET', '/users/me/calendarList', 'CalendarList.List', S.listRead, (ctx) =>
  listCalendarList(ctx),
);
on('POST', '/users/me/calendarList/watch', 'CalendarList.Watch', S.listRead, (ctx, _p, d) =>
  watchCalendarList(ctx, d.notifier),
);
on('GET', '/users/me/calendarList/:p', 'CalendarList.Get', S.listGet, (ctx, [c]) =>
  getCalendarListEntry(ctx, c!),
);
on('POST', '/channels/stop', 'Channels.Stop', S.any, (ctx, _p, d) => stopChannel(ctx, d.notifier));

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function makeHandler(d: ServerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(d, req, res).catch((e: unknown) => {
      d.log(`internal error: ${e instanceof Error ? e.stack : String(e)}`);
      if (!res.headersSent)
        send(
          res,
          errorReply(
            new ApiError(500, {
              domain: 'global',
              reason: 'backendError',
              message: 'Backend Error',
            }),
          ),
        );
      else res.destroy();
    });
  };
}

async function handle(d: ServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://simulator');
  const path = url.pathname;
  const method = (req.method ?? 'GET').toUpperCase();
  if (path.startsWith('/_sim/')) {
    send(res, await handleControl(d, req, path));
    return;
  }
  const query = new Query(url.searchParams);
  const entry = {
    method,
    path,
    query: query.toObject(),
    status: 0,
    user: undefined as string | undefined,
    at: d.clock.now(),
  };
  d.requests.push(entry);
  let reply: Reply;
  const fault = d.faults.take(method, path);
  try {
    if (d.faults.latencyMs > 0) await sleep(d.faults.latencyMs);
    const injected = fault && Faults.errorOf(fault);
    if (injected) throw injected;
    reply =
      (await oauthRoute(d, req, method, path, url)) ??
      (await api(d, req, method, path, query, entry));
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    reply = errorReply(e);
  }
  entry.status = reply.status;
  // The answer was computed on arrival; a latency or hold fault only delays sending it.
  if (fault?.latencyMs) await sleep(fault.latencyMs);
  if (fault?.hold) {
    d.log(`holding ${method} ${path} (${reply.status})`);
    await d.held.hold({ method, path, query: entry.query, user: entry.user, at: entry.at });
  }
  d.log(`${method} ${path}${url.search} -> ${reply.status}`);
  send(res, reply);
}

/**
 * Google's OAuth and OpenID endpoints on one host: /token and /revoke and /tokeninfo
 * (oauth2.googleapis.com), /v1/userinfo (openidconnect.googleapis.com; also /oauth2/v3/userinfo),
 * /oauth2/v3/certs and /oauth2/v1/certs (www.googleapis.com). Undefined for any other path.
 */
async function oauthRoute(
  d: ServerDeps,
  req: IncomingMessage,
  method: string,
  path: string,
  url: URL,
): Promise<Reply | undefined> {
  const auth = req.headers.authorization;
  if (path === '/token' && method === 'POST')
    return d.oauth.token(new URLSearchParams(await readBody(req)), auth);
  if (path === '/revoke' && method === 'POST') {
    const form = new URLSearchParams(await readBody(req));
    return d.oauth.revokeToken(form.get('token') ?? url.searchParams.get('token'));
  }
  if (path === '/tokeninfo' && (method === 'GET' || method === 'POST')) {
    const params = new URLSearchParams(url.searchParams);
    if (method === 'POST')
      for (const [k, v] of new URLSearchParams(await readBody(req))) params.set(k, v);
    return d.oauth.tokenInfo(params, auth);
  }
  if ((path === '/v1/userinfo' || path === '/oauth2/v3/userinfo') && method === 'GET')
    return d.oauth.userInfo(auth);
  if (path === '/oauth2/v3/certs' && method === 'GET') return d.oauth.jwks();
  if (path === '/oauth2/v1/certs' && method === 'GET') return d.oauth.pemCerts();
  return undefined;
}

async function api(
  d: ServerDeps,
  req: IncomingMessage,
  method: string,
  path: string,
  query: Query,
  entry: { user?: string },
): Promise<Reply> {
  let match: { route: Route; params: string[] } | undefined;
  for (const route of routes) {
    const m = route.re.exec(path);
    if (m && route.method === method) {
      match = { route, params: m.slice(1).map(decodeURIComponent) };
      break;
    }
  }
  if (!match) throw errors.notFound();
  const auth = d.oauth.authenticate(req.headers.authorization);
  entry.user = auth.user.email;
  // Fewer scopes granted than the method needs (a user unticked the calendar box at consent).
  if (auth.enforceScopes && !match.route.scopes.some((s) => auth.scopes.includes(s)))
    throw insufficientScopes(match.route.name);
  const limited = d.faults.checkRate(auth.user.email);
  if (limited) throw limited;
  const body = method === 'GET' || method === 'DELETE' ? {} : parseJsonObject(await readBody(req));
  const ctx: ApiContext = {
    store: d.store,
    tokens: d.tokens,
    settings: d.settings,
    user: auth.user,
    query,
    body,
    headers: req.headers,
    clientId: auth.clientId,
  };
  return match.route.handler(ctx, match.params, d);
}
