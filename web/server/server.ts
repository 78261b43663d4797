// The live page's HTTP server on loopback: the bundled page, its config, the feed (server-sent events) and the buttons' API.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ACTIONS, type ActionAnswer, type ActionName, type PageConfig } from '../page/shared.js';
import { ActionRefused, DemoActions, type DemoCalendar } from './actions.js';
import { buildPage, type PageAssets } from './bundle.js';
import { FeedHub } from './feed.js';
import { loadRules } from './rules.js';

export { FeedHub } from './feed.js';
export type { DemoCalendar } from './actions.js';

export interface WebViewOptions {
  projectId: string;
  /** host:port of the Firestore emulator (FIRESTORE_EMULATOR_HOST). */
  firestoreHost: string;
  /** The user the page reads as (the emulator's mock token carries this uid). */
  uid: string;
  /** Where the functions' log lines arrive (pass feed.onLine to startLocalStack). */
  feed: FeedHub;
  /** Port on 127.0.0.1; taken ports fall back to a free one. Default: a free one. */
  port?: number;
}

export interface WebView {
  url: string;
  /** Arms the buttons with the demo calendar they change (they answer 503 until then). */
  setDemo(demo: DemoCalendar): void;
  close(): Promise<void>;
}

const TYPES: Record<keyof PageAssets, string> = {
  'index.html': 'text/html; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'main.js': 'text/javascript; charset=utf-8',
};

/** Loads the rules, bundles the page and serves it; resolves once it listens. */
export async function startWebView(options: WebViewOptions): Promise<WebView> {
  const [assets] = await Promise.all([
    buildPage(),
    loadRules(options.firestoreHost, options.projectId),
  ]);
  const [fsHost, fsPort] = splitHost(options.firestoreHost);
  const config: PageConfig = {
    projectId: options.projectId,
    firestoreHost: fsHost,
    firestorePort: fsPort,
    uid: options.uid,
  };
  // Nothing but this server and the emulator: no CDN, no fonts, no analytics.
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' http://${options.firestoreHost}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  let actions: DemoActions | undefined;
  const server = createServer((req, res) => {
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, {
        'Content-Type': type,
        'Cache-Control': 'no-store',
        'Content-Security-Policy': csp,
        'X-Content-Type-Options': 'nosniff',
      });
      res.end(body);
    };
    route(req, res, send, { assets, config, feed: options.feed, actions: () => actions }).catch(
      (err: unknown) => send(500, 'text/plain; charset=utf-8', `${String(err)}\n`),
    );
  });
  const url = await listen(server, options.port ?? 0);
  return {
    url,
    setDemo: (demo) => (actions = new DemoActions(demo)),
    close: async () => {
      options.feed.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Context {
  assets: PageAssets;
  config: PageConfig;
  feed: FeedHub;
  actions: () => DemoActions | undefined;
}
type Send = (status: number, type: string, body: string) => void;

async function route(req: IncomingMessage, res: ServerResponse, send: Send, ctx: Context) {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (req.method === 'GET' || req.method === 'HEAD') {
    if (path === '/' || path === '/index.html')
      return send(200, TYPES['index.html'], ctx.assets['index.html']);
    if (path === '/style.css') return send(200, TYPES['style.css'], ctx.assets['style.css']);
    if (path === '/main.js') return send(200, TYPES['main.js'], ctx.assets['main.js']);
    if (path === '/config.json') return send(200, 'application/json', JSON.stringify(ctx.config));
    if (path === '/feed') return ctx.feed.attach(res);
    return send(404, 'text/plain; charset=utf-8', 'not found\n');
  }
  const action = path.startsWith('/api/') ? path.slice(5) : '';
  if (req.method !== 'POST' || !(ACTIONS as readonly string[]).includes(action)) {
    return send(404, 'text/plain; charset=utf-8', 'not found\n');
  }
  const answer = await runAction(req, ctx, action as ActionName);
  send(answer.status, 'application/json', JSON.stringify(answer.body));
}

async function runAction(
  req: IncomingMessage,
  ctx: Context,
  action: ActionName,
): Promise<{ status: number; body: ActionAnswer }> {
  // Only the page itself may press the buttons: a cross-site form cannot send JSON without a
  // preflight this server never answers, and a browser always names the origin of a fetch.
  const origin = req.headers.origin;
  const host = req.headers.host;
  if (!req.headers['content-type']?.startsWith('application/json') || origin !== `http://${host}`) {
    return {
      status: 403,
      body: { ok: false, error: 'only the page itself can press its buttons' },
    };
  }
  req.resume();
  const actions = ctx.actions();
  if (!actions)
    return { status: 503, body: { ok: false, error: 'the demo calendar is still being set up' } };
  const started = Date.now();
  try {
    const done = await actions.run(action);
    const item = { kind: 'action' as const, at: Date.now(), ms: Date.now() - started, ...done };
    ctx.feed.publish(item);
    return { status: 200, body: { ok: true, item } };
  } catch (err) {
    if (err instanceof ActionRefused)
      return { status: 409, body: { ok: false, error: err.message } };
    return { status: 502, body: { ok: false, error: `the Calendar API refused: ${String(err)}` } };
  }
}

function splitHost(hostPort: string): [string, number] {
  const at = hostPort.lastIndexOf(':');
  return [hostPort.slice(0, at), Number(hostPort.slice(at + 1))];
}

function listen(server: Server, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' && port !== 0) {
        server.listen(0, '127.0.0.1'); // the wished-for port is taken: any free one will do
      } else reject(err);
    };
    server.on('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    });
  });
}
