// Entry point: startSimulator() wires store, OAuth, faults, notifier and the HTTP server together.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SimClock } from './clock.js';
import type { SimSettings } from './context.js';
import type { RequestLogEntry } from './control.js';
import { Faults, HeldRequests } from './faults.js';
import { OAuth } from './oauth.js';
import { SimRandom } from './random.js';
import { makeHandler } from './server.js';
import { Store } from './store.js';
import { TokenCodec } from './tokens.js';
import { Notifier } from './watch.js';

export interface SimulatorOptions {
  port?: number; // 0/undefined = random free loopback port
  clientId?: string; // OAuth client accepted by POST /token; default 'calsync-test-client'
  clientSecret?: string; // default 'calsync-test-secret'
  accessTokenTtlSeconds?: number; // default 3600 (simulated clock)
  /**
   * The OAuth app's publishing status. 'testing': refresh tokens expire 7 days after they were
   * issued (simulated clock), as Google does for apps in "Testing". Default 'production'.
   * Per grant: `refreshTokenTtlSeconds` in POST /_sim/users. Run time: POST /_sim/oauth.
   */
  oauthPublishingStatus?: 'production' | 'testing';
  notificationRetryBaseMs?: number; // backoff base for webhook retries (default 200)
  dropRate?: number; // 0..1 share of notifications silently dropped (default 0)
  rateLimitPerMinute?: number; // per-user requests per minute window (default 600)
  seed?: number; // for any randomness (drop, page shortening, ids), reproducible
  log?: boolean;
  /** Share of non-final events/calendarList pages forced empty (0..0.9, default 0). */
  emptyPageRate?: number;
  /** Share of non-final pages cut short (0..1, default 0). */
  shortPageRate?: number;
  /** Delivery attempts per notification when the receiver answers 500/502/503/504 (default 5). */
  notificationMaxAttempts?: number;
}

export interface Simulator {
  url: string; // 'http://127.0.0.1:PORT' — the client's rootUrl is `${url}/`
  tokenUrl: string; // `${url}/token`
  port: number;
  close(): Promise<void>; // stops server and all pending notification deliveries
  idle(): Promise<void>; // resolves when no notification delivery is pending/in flight
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const seed = opts.seed ?? 1;
  const log = opts.log ? (m: string) => console.log(`[calendar-sim] ${m}`) : () => undefined;
  const clock = new SimClock();
  const random = new SimRandom(seed);
  const store = new Store(clock, random);
  const oauth = new OAuth(store, clock, {
    clientId: opts.clientId ?? 'calsync-test-client',
    clientSecret: opts.clientSecret ?? 'calsync-test-secret',
    accessTokenTtlSeconds: opts.accessTokenTtlSeconds ?? 3600,
    publishingStatus: opts.oauthPublishingStatus ?? 'production',
  });
  const faults = new Faults(clock, opts.rateLimitPerMinute ?? 600);
  const notifier = new Notifier({
    clock,
    seed,
    retryBaseMs: opts.notificationRetryBaseMs ?? 200,
    maxAttempts: opts.notificationMaxAttempts ?? 5,
    dropRate: opts.dropRate ?? 0,
    log,
  });
  store.listeners = {
    eventsChanged: (cal) => notifier.notify('events', cal.id),
    calendarListChanged: (user) => notifier.notify('calendarList', user.email),
    calendarGone: (cal) => notifier.notify('events', cal.id, 'not_exists'),
  };
  const settings: SimSettings = {
    seed,
    emptyPageRate: Math.min(opts.emptyPageRate ?? 0, 0.9),
    shortPageRate: opts.shortPageRate ?? 0,
    baseUrl: '',
  };
  const requests: RequestLogEntry[] = [];
  const held = new HeldRequests();
  const server = http.createServer(
    makeHandler({
      store,
      oauth,
      faults,
      held,
      notifier,
      clock,
      settings,
      requests,
      tokens: new TokenCodec(),
      log,
    }),
  );
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  settings.baseUrl = url;
  let closing: Promise<void> | undefined;
  return {
    url,
    tokenUrl: `${url}/token`,
    port,
    idle: () => notifier.idle(),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        notifier.close();
        held.releaseAll();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
