// Typed helper for tests: drives the simulator's /_sim/ control API and fetches access tokens.
import { calendar, type calendar_v3 } from '@googleapis/calendar';
import { OAuth2Client } from 'google-auth-library';
import type { RequestLogEntry } from './control.js';
import type { FaultSpec, HeldRequest } from './faults.js';
import type { RealismKnobs } from './realism.js';
import type { DeliveryRecord } from './watch.js';

export type { RequestLogEntry, FaultSpec, DeliveryRecord, HeldRequest, RealismKnobs };

export interface ChannelInfo {
  id: string;
  kind: 'events' | 'calendarList';
  target: string;
  resourceId: string;
  resourceUri: string;
  address: string;
  token?: string;
  /** Epoch ms on the simulated clock. */
  expiration: number;
  owner: string;
  stopped: boolean;
  expired: boolean;
}

export interface UserInfo {
  email: string;
  sub: string;
  grants: {
    refreshToken: string;
    scopes: string[];
    enforceScopes: boolean;
    issuedAt: number;
    expiresAt: number | null;
    failure: 'revoked' | 'bad_request' | 'invalid_rapt' | null;
  }[];
}

export class SimulatorClient {
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  private async call<T = void>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}/_sim${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`simulator ${method} /_sim${path} -> ${res.status}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * A user (Google account) with a primary calendar whose id is `email`, and a grant: the
   * refresh token. Calling it again for the same email adds another grant (or renews this one).
   * `scopes`: what the user really granted (checked on every call; default calsync's scopes,
   * reported but not checked). `sub`: the stable account id (default derived from the email).
   * `refreshTokenTtlSeconds`: the refresh token dies after this long (simulated clock).
   */
  async createUser(
    email: string,
    refreshToken: string,
    opts: {
      timeZone?: string;
      scopes?: string[];
      sub?: string;
      refreshTokenTtlSeconds?: number;
    } = {},
  ): Promise<void> {
    await this.call('POST', '/users', { email, refreshToken, ...opts });
  }
  /** The account's `sub` and its grants. */
  async user(email: string): Promise<UserInfo> {
    return this.call('GET', `/users/${encodeURIComponent(email)}`);
  }
  /** The user revokes access: every grant, or only `refreshToken`'s. */
  async revoke(email: string, refreshToken?: string): Promise<void> {
    await this.call('POST', `/users/${encodeURIComponent(email)}/revoke`, { refreshToken });
  }
  /** Later refreshes of the user's grants (or one) answer this invalid_grant variant. */
  async failGrant(
    email: string,
    variant: 'revoked' | 'bad_request' | 'invalid_rapt',
    refreshToken?: string,
  ): Promise<void> {
    await this.call('POST', `/users/${encodeURIComponent(email)}/invalid-grant`, {
      variant,
      refreshToken,
    });
  }
  /** 'testing': refresh tokens issued from now on expire after 7 days (simulated clock). */
  async setOAuthPublishingStatus(status: 'production' | 'testing'): Promise<void> {
    await this.call('POST', '/oauth', { publishingStatus: status });
  }
  /** A secondary calendar owned by `owner`, added to their calendarList; returns its id. */
  async createCalendar(
    owner: string,
    opts: { id?: string; summary?: string; timeZone?: string; description?: string } = {},
  ): Promise<string> {
    const r = await this.call<{ id: string }>('POST', '/calendars', { owner, ...opts });
    return r.id;
  }
  async shareCalendar(
    calendarId: string,
    email: string,
    role: 'owner' | 'writer' | 'reader' | 'freeBusyReader' = 'writer',
  ): Promise<void> {
    await this.call('POST', `/calendars/${encodeURIComponent(calendarId)}/share`, { email, role });
  }
  async unshareCalendar(calendarId: string, email: string): Promise<void> {
    await this.call('POST', `/calendars/${encodeURIComponent(calendarId)}/unshare`, { email });
  }
  async deleteCalendar(calendarId: string): Promise<void> {
    await this.call('POST', `/calendars/${encodeURIComponent(calendarId)}/delete`);
  }
  async setPushUnsupported(calendarId: string, value = true): Promise<void> {
    await this.call('POST', `/calendars/${encodeURIComponent(calendarId)}/push-unsupported`, {
      value,
    });
  }
  /** Inserts `count` generated timed events through events.insert's code path, with one notification. */
  async seedEvents(
    calendarId: string,
    count: number,
    opts: {
      from?: string;
      spacingMinutes?: number;
      durationMinutes?: number;
      summaryPrefix?: string;
    } = {},
  ): Promise<number> {
    const r = await this.call<{ inserted: number }>(
      'POST',
      `/calendars/${encodeURIComponent(calendarId)}/seed`,
      { count, ...opts },
    );
    return r.inserted;
  }
  /**
   * Google's UI "this and following" edit: the series ends before occurrence `at` (key like
   * 20250409T120000Z, an instance id, or the RFC 3339 original start) and a new master
   * `<base>_R<YYYYMMDDTHHMMSS>` continues with the changes. Returns the new master's id.
   */
  async splitSeries(
    calendarId: string,
    eventId: string,
    at: string,
    changes: {
      summary?: string;
      description?: string;
      location?: string;
      shiftMinutes?: number;
    } = {},
  ): Promise<string> {
    const r = await this.call<{ id: string }>(
      'POST',
      `/calendars/${encodeURIComponent(calendarId)}/split`,
      { eventId, at, ...changes },
    );
    return r.id;
  }
  async expireSyncTokens(calendarId: string): Promise<void> {
    await this.call('POST', `/calendars/${encodeURIComponent(calendarId)}/expire-sync-tokens`);
  }
  async expireCalendarListSyncTokens(email: string): Promise<void> {
    await this.call('POST', `/users/${encodeURIComponent(email)}/expire-sync-tokens`);
  }
  async addFault(fault: FaultSpec): Promise<void> {
    await this.call('POST', '/faults', fault);
  }
  async faults(): Promise<FaultSpec[]> {
    return this.call('GET', '/faults');
  }
  async clearFaults(): Promise<void> {
    await this.call('DELETE', '/faults');
  }
  /** Moves the simulated clock (token and channel expiry follow it); returns the new now (ms). */
  async advanceClock(ms: number): Promise<number> {
    return (await this.call<{ now: number }>('POST', '/clock', { advanceMs: ms })).now;
  }
  async now(): Promise<number> {
    return (await this.call<{ now: number }>('GET', '/clock')).now;
  }
  async requests(): Promise<RequestLogEntry[]> {
    return this.call('GET', '/requests');
  }
  async clearRequests(): Promise<void> {
    await this.call('DELETE', '/requests');
  }
  async channels(): Promise<ChannelInfo[]> {
    return this.call('GET', '/channels');
  }
  async notifications(): Promise<DeliveryRecord[]> {
    return this.call('GET', '/notifications');
  }
  async clearNotifications(): Promise<void> {
    await this.call('DELETE', '/notifications');
  }
  /** Requests whose (already computed) answers are withheld by a `hold` fault. */
  async heldRequests(): Promise<HeldRequest[]> {
    return this.call('GET', '/held');
  }
  /** Resolves with the held requests once at least `count` are held (polls; rejects after timeoutMs). */
  async waitForHeld(count = 1, timeoutMs = 10_000): Promise<HeldRequest[]> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const held = await this.heldRequests();
      if (held.length >= count) return held;
      if (Date.now() > until)
        throw new Error(`expected ${count} held requests, got ${held.length}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  /** Sends one held answer (as computed when its request arrived). */
  async releaseHeld(id: number): Promise<void> {
    await this.call('POST', `/held/${id}/release`);
  }
  async releaseAllHeld(): Promise<number> {
    return (await this.call<{ released: number }>('POST', '/held/all/release')).released;
  }
  async setLatency(ms: number): Promise<void> {
    await this.call('POST', '/latency', { ms });
  }
  async setDropRate(rate: number): Promise<void> {
    await this.call('POST', '/drop-rate', { rate });
  }
  /** The next `n` channels.stop calls each let one late `exists` notification through. */
  async setStragglerAfterStop(n: number): Promise<void> {
    await this.call('POST', '/stragglers', { count: n });
  }
  async setPaging(opts: {
    emptyPageRate?: number;
    shortPageRate?: number;
    emptyLastPageRate?: number;
  }): Promise<void> {
    await this.call('POST', '/paging', opts);
  }
  /**
   * Sets realism knobs at run time: `preset` ('google' | 'off') first, then each knob given
   * (RealismKnobs in realism.ts). Answers the knobs now in force.
   */
  async setRealism(
    knobs: Partial<RealismKnobs> & { preset?: 'google' | 'off' },
  ): Promise<RealismKnobs> {
    return this.call('POST', '/realism', knobs);
  }
  async realism(): Promise<RealismKnobs> {
    return this.call('GET', '/realism');
  }
  async setRateLimit(perMinute: number): Promise<void> {
    await this.call('POST', '/rate-limit', { perMinute });
  }
  /** Resolves once no notification delivery is pending (works for an out-of-process simulator). */
  async idle(): Promise<void> {
    await this.call('POST', '/idle');
  }

  /** A fresh access token via POST /token (refresh grant), as google-auth-library would get it. */
  async accessToken(
    refreshToken: string,
    clientId = 'calsync-test-client',
    clientSecret = 'calsync-test-secret',
  ): Promise<string> {
    const res = await fetch(`${this.baseUrl}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: clientId,
        client_secret: clientSecret,
      }).toString(),
    });
    const body = (await res.json()) as { access_token?: string; error?: string };
    if (!res.ok || !body.access_token)
      throw new Error(`token request failed: ${res.status} ${JSON.stringify(body)}`);
    return body.access_token;
  }
}

/**
 * A real `@googleapis/calendar` client pointed at the simulator, authenticated with a refresh token
 * through the simulator's /token endpoint — exactly how calsync talks to Google.
 */
export function googleCalendar(
  simUrl: string,
  refreshToken: string,
  opts: { clientId?: string; clientSecret?: string; forceRefreshOnFailure?: boolean } = {},
): { calendar: calendar_v3.Calendar; auth: OAuth2Client } {
  const base = simUrl.replace(/\/+$/, '');
  const auth = new OAuth2Client({
    clientId: opts.clientId ?? 'calsync-test-client',
    clientSecret: opts.clientSecret ?? 'calsync-test-secret',
    endpoints: { oauth2TokenUrl: `${base}/token` },
    forceRefreshOnFailure: opts.forceRefreshOnFailure,
  });
  auth.setCredentials({ refresh_token: refreshToken });
  // @googleapis/calendar resolves its own copy of google-auth-library (10.5 via googleapis-common)
  // whose OAuth2Client type differs only in private members; the runtime objects are compatible.
  const clientAuth = auth as unknown as calendar_v3.Options['auth'];
  return { calendar: calendar({ version: 'v3', auth: clientAuth, rootUrl: `${base}/` }), auth };
}
