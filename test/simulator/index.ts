// Entry point: startSimulator() wires store, OAuth, faults, notifier and the HTTP server together.
//
// On one loopback port: Google's Calendar v3 paths (/calendar/v3/…), its OAuth and OpenID endpoints
// (POST /token, POST /revoke, /tokeninfo, /v1/userinfo, /oauth2/v3/certs, /oauth2/v1/certs;
// oauth.ts) and the control API under /_sim/ (every route listed in control.ts; SimulatorClient in
// client.ts wraps them: users and grants, sharing, splits, faults and held requests, clock, realism).
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
import { applyRealism, KIND, type RealismKnobs, type RealismPreset } from './realism.js';
import { Notifier } from './watch.js';

/**
 * Options of startSimulator. Every realism knob (RealismKnobs in realism.ts, each documented there)
 * can be given here; `realism: 'google'` first applies the preset, then the knobs given override it.
 * At run time: POST /_sim/realism {preset?, ...knobs} (SimulatorClient.setRealism).
 *
 * | knob                                 | default                 | realism: 'google'        |
 * |--------------------------------------|-------------------------|--------------------------|
 * | visibilityLagMs                      | 0                       | {min: 200, max: 1500}    |
 * | notificationDelayMs                  | 0                       | {min: 0, max: 1000}      |
 * | duplicateNotificationRate            | 0                       | 0.03                     |
 * | noDeltaNotificationRate              | 0                       | 0.03                     |
 * | livePaging                           | false                   | true                     |
 * | emptyPageRate                        | 0                       | 0.1                      |
 * | shortPageRate                        | 0                       | 0.2                      |
 * | emptyLastPageRate                    | 0                       | 0.1                      |
 * | syncTokenLifetimeSeconds             | 0 (never)               | 86400                    |
 * | aclChangesInvalidateSyncTokens       | false                   | true                     |
 * | untidyEvents                         | false                   | true                     |
 * | enforceAccessRoles                   | false                   | true                     |
 * | rejectShowDeletedFalseWithSyncToken  | false                   | true                     |
 * | userRateLimitReason                  | 'userRateLimitExceeded' | (same)                   |
 * | projectRateLimitPerMinute            | 0 (none)                | (same)                   |
 *
 * Lags are in simulated-clock ms (POST /_sim/clock moves them along).
 */
export interface SimulatorOptions extends Partial<RealismKnobs> {
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
  seed?: number; // for any randomness (drop, page shortening, lags, ids), reproducible
  log?: boolean;
  /** Delivery attempts per notification when the receiver answers 500/502/503/504 (default 5). */
  notificationMaxAttempts?: number;
  /** 'google': every behaviour where Google is harder than the kind default (contract D). */
  realism?: RealismPreset;
}

export type { LagSpec, RealismKnobs, RealismPreset } from './realism.js';
export { GOOGLE as GOOGLE_REALISM } from './realism.js';

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
  const realism: RealismKnobs = { ...KIND };
  const { realism: preset, ...rest } = opts;
  const knobs = Object.fromEntries(
    Object.entries(rest).filter(([k]) => k in KIND),
  ) as Partial<RealismKnobs>;
  applyRealism(realism, { preset, ...knobs });
  const store = new Store(clock, random, realism);
  const oauth = new OAuth(store, clock, {
    clientId: opts.clientId ?? 'calsync-test-client',
    clientSecret: opts.clientSecret ?? 'calsync-test-secret',
    accessTokenTtlSeconds: opts.accessTokenTtlSeconds ?? 3600,
    publishingStatus: opts.oauthPublishingStatus ?? 'production',
  });
  const faults = new Faults(clock, opts.rateLimitPerMinute ?? 600, realism);
  const notifier = new Notifier({
    clock,
    seed,
    realism,
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
  const settings: SimSettings = { seed, baseUrl: '', realism };
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
      tokens: new TokenCodec(seed),
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
