// node:http request handling: request log, latency, faults, auth, rate limit, then Google's routes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getCalendar, getCalendarListEntry, listCalendarList } from './calendar-list.js';
import { stopChannel, watchCalendarList, watchEvents } from './channels.js';
import type { ApiContext } from './context.js';
import { handleControl, type ControlDeps } from './control.js';
import { ApiError, errors } from './errors.js';
import { deleteEvent, getEvent, insertEvent, writeEvent } from './events.js';
import { listEvents, listInstances } from './events-list.js';
import { errorReply, parseJsonObject, Query, readBody, send, type Reply } from './http.js';
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
}

const SEG = '([^/]+)';
const routes: Route[] = [];
function on(method: string, pattern: string, handler: Handler): void {
  routes.push({
    method,
    re: new RegExp(`^/calendar/v3${pattern.replaceAll(':p', SEG)}$`),
    handler,
  });
}

const cal = (ctx: ApiContext, id: string) => ctx.store.calendarFor(ctx.user, id);

on('GET', '/calendars/:p/events', (ctx, [c]) => listEvents(ctx, cal(ctx, c!)));
on('POST', '/calendars/:p/events', (ctx, [c]) => insertEvent(ctx, cal(ctx, c!)));
on('POST', '/calendars/:p/events/watch', (ctx, [c], d) =>
  watchEvents(ctx, d.notifier, cal(ctx, c!), c!),
);
on('GET', '/calendars/:p/events/:p/instances', (ctx, [c, e]) =>
  listInstances(ctx, cal(ctx, c!), e!),
);
on('GET', '/calendars/:p/events/:p', (ctx, [c, e]) => getEvent(ctx, cal(ctx, c!), e!));
on('PUT', '/calendars/:p/events/:p', (ctx, [c, e]) => writeEvent(ctx, cal(ctx, c!), e!, 'update'));
on('PATCH', '/calendars/:p/events/:p', (ctx, [c, e]) => writeEvent(ctx, cal(ctx, c!), e!, 'patch'));
on('DELETE', '/calendars/:p/events/:p', (ctx, [c, e]) => deleteEvent(ctx, cal(ctx, c!), e!));
on('GET', '/calendars/:p', (ctx, [c]) => getCalendar(ctx, c!));
on('GET', '/users/me/calendarList', (ctx) => listCalendarList(ctx));
on('POST', '/users/me/calendarList/watch', (ctx, _p, d) => watchCalendarList(ctx, d.notifier));
on('GET', '/users/me/calendarList/:p', (ctx, [c]) => getCalendarListEntry(ctx, c!));
on('POST', '/channels/stop', (ctx, _p, d) => stopChannel(ctx, d.notifier));

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
  try {
    if (d.faults.latencyMs > 0) await sleep(d.faults.latencyMs);
    const injected = d.faults.take(method, path);
    if (injected) throw injected;
    if (path === '/token' && method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      reply = d.oauth.token(form, req.headers.authorization);
    } else {
      reply = await api(d, req, method, path, query, entry);
    }
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    reply = errorReply(e);
  }
  entry.status = reply.status;
  d.log(`${method} ${path}${url.search} -> ${reply.status}`);
  send(res, reply);
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
