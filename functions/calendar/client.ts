// Calendar API adapter: @googleapis/calendar + OAuth2Client behind the narrow CalendarApi, with timeouts, 401 refresh and backoff.
import { calendar, type calendar_v3 } from '@googleapis/calendar';
import { OAuth2Client } from 'google-auth-library';
import type { OAuthClientConfig } from '../config.js';
import { registerSecret } from '../log.js';
import type {
  CalendarApi,
  CalendarApiFactory,
  CalendarApiOptions,
  CalendarListPage,
  EventsPage,
  WatchedChannel,
  WatchRequest,
} from './api.js';
import { DEFAULT_BACKOFF, RetryBudget, sleep as realSleep, type BackoffPolicy } from './backoff.js';
import { CalendarError, classifyGoogleError, isRetryable } from './errors.js';
import { AccessTokenCache, accessTokenCache } from './token-cache.js';

export interface CalendarClientConfig {
  calendarApiUrl: string;
  oauth: OAuthClientConfig;
  googleTimeoutMs: number;
  retryBudgetMs: number;
}

/** Request options the generated client accepts (a subset of MethodOptions). */
interface CallOptions {
  signal: AbortSignal;
  retry: false;
}

/** Returns a factory: one CalendarApi per (refresh token, message), each with its own retry budget. */
export function calendarApiFactory(
  config: CalendarClientConfig,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
): CalendarApiFactory {
  return (refreshToken, options) => createCalendarApi(config, refreshToken, options, policy);
}

export function createCalendarApi(
  config: CalendarClientConfig,
  refreshToken: string,
  options: CalendarApiOptions = {},
  policy: BackoffPolicy = DEFAULT_BACKOFF,
): CalendarApi {
  registerSecret(refreshToken);
  const auth = oauthClient(config, refreshToken);
  const cached = cachedAuth(auth, config, refreshToken, options.now ?? Date.now);
  const client: calendar_v3.Calendar = calendar({
    version: 'v3',
    // googleapis-common pins its own copy of google-auth-library; the classes are the same at run time.
    auth: auth as unknown as calendar_v3.Options['auth'],
    rootUrl: config.calendarApiUrl,
  });
  const call = caller(
    config,
    () => {
      accessTokenCache.delete(cached.key); // Google refused it: never hand it out again
      auth.setCredentials({ refresh_token: refreshToken });
    },
    options,
    policy,
  );
  return { ...eventMethods(client, call), ...calendarListMethods(client, call) };
}

/** The OAuth2 client for one refresh token; every access token it mints is blanked in logs. */
function oauthClient(config: CalendarClientConfig, refreshToken: string): OAuth2Client {
  const auth = new OAuth2Client({
    clientId: config.oauth.clientId,
    clientSecret: config.oauth.clientSecret,
    endpoints: { oauth2TokenUrl: config.oauth.tokenUrl },
    // The token refresh happens inside API calls; give it the same timeout.
    transporterOptions: { timeout: config.googleTimeoutMs },
  });
  auth.setCredentials({ refresh_token: refreshToken });
  auth.on('tokens', (tokens) => registerSecret(tokens.access_token ?? undefined));
  return auth;
}

/**
 * Gives `auth` the instance's cached access token for this refresh token (if still valid), and
 * caches every token it obtains. The client's own expiry check runs on `Date`; the cache runs on
 * `now` (the caller's clock): expiry dates are translated between the two.
 */
function cachedAuth(
  auth: OAuth2Client,
  config: CalendarClientConfig,
  refreshToken: string,
  now: () => number,
): { key: string } {
  const key = AccessTokenCache.keyOf(config.oauth.tokenUrl, config.oauth.clientId, refreshToken);
  const hit = accessTokenCache.get(key, now());
  auth.setCredentials({
    refresh_token: refreshToken,
    ...(hit
      ? { access_token: hit.accessToken, expiry_date: Date.now() + (hit.expiresAt - now()) }
      : {}),
  });
  auth.on('tokens', (tokens) => {
    if (tokens.access_token && typeof tokens.expiry_date === 'number') {
      const expiresAt = now() + (tokens.expiry_date - Date.now());
      accessTokenCache.set(key, { accessToken: tokens.access_token, expiresAt });
    }
  });
  return { key };
}

/** One logical call against Google, retried as its own budget allows. */
type Call = <T>(fn: (o: CallOptions) => Promise<T>, signal?: AbortSignal) => Promise<T>;

/** Makes `call`: timeout per try, one forced refresh on 401, backoff on retryable kinds. */
function caller(
  config: CalendarClientConfig,
  forceRefresh: () => void,
  options: CalendarApiOptions,
  policy: BackoffPolicy,
): Call {
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  const budgetMs = options.retryBudgetMs ?? config.retryBudgetMs;
  const now = options.now ?? Date.now;
  // The retry budget is per call: one 429 late in a long full sync gets the same patience as the
  // first page (the caller's signal — the lease deadline in a sync — still bounds it).
  return async function call<T>(
    fn: (o: CallOptions) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const budget = new RetryBudget(budgetMs, now);
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      const timeout = AbortSignal.timeout(config.googleTimeoutMs);
      const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
      try {
        // The race also bounds the token refresh, which does not see our signal.
        return await raceAbort(fn({ signal: combined, retry: false }), combined);
      } catch (err) {
        if (signal?.aborted) throw new CalendarError(classifyAborted(), { cause: err });
        const info = timeout.aborted
          ? classifyTimeout(config.googleTimeoutMs)
          : classifyGoogleError(err);
        if (info.kind === 'unauthorized' && !refreshed) {
          // The client replays a 401 itself only without expiry_date (CALENDAR-API.md): force it.
          refreshed = true;
          forceRefresh();
          attempt--;
          continue;
        }
        const delay = isRetryable(info.kind)
          ? budget.nextDelay(attempt, policy, random)
          : undefined;
        if (delay === undefined) throw new CalendarError(info, { cause: err });
        options.onRetry?.({
          attempt,
          delayMs: delay,
          kind: info.kind,
          ...(info.status !== undefined ? { status: info.status } : {}),
        });
        await sleep(delay, signal);
      }
    }
  };
}

/** Events, calendars and channels: the methods of one calendar's mirror. */
function eventMethods(
  client: calendar_v3.Calendar,
  call: Call,
): Pick<CalendarApi, 'listEvents' | 'getCalendar' | 'watchEvents' | 'stopChannel'> {
  return {
    async listEvents(params, signal): Promise<EventsPage> {
      const { calendarId, maxResults, singleEvents, showDeleted, syncToken, pageToken, timeMin } =
        params;
      const query = {
        calendarId,
        maxResults,
        singleEvents,
        ...definedFields({ showDeleted, syncToken, pageToken, timeMin }),
      };
      const res = await call((o) => client.events.list(query, o), signal);
      return { ...pageOf(res.data), timeZone: res.data.timeZone ?? undefined };
    },

    async getCalendar(calendarId, signal) {
      const res = await call((o) => client.calendars.get({ calendarId }, o), signal);
      return {
        id: res.data.id ?? calendarId,
        summary: res.data.summary ?? undefined,
        timeZone: res.data.timeZone ?? undefined,
      };
    },

    async watchEvents(calendarId, request, signal) {
      const requestBody = watchBody(request);
      const res = await call((o) => client.events.watch({ calendarId, requestBody }, o), signal);
      return toChannel(res.data, request.id);
    },

    async stopChannel(channel, signal) {
      const requestBody = { id: channel.id, resourceId: channel.resourceId };
      try {
        await call((o) => client.channels.stop({ requestBody }, o), signal);
      } catch (err) {
        if (err instanceof CalendarError && err.kind === 'not_found') return;
        throw err;
      }
    },
  };
}

/** The user's calendar list: listing and watching it. */
function calendarListMethods(
  client: calendar_v3.Calendar,
  call: Call,
): Pick<CalendarApi, 'listCalendarList' | 'watchCalendarList'> {
  return {
    async listCalendarList(params, signal): Promise<CalendarListPage> {
      const { pageToken, syncToken, maxResults, showDeleted, showHidden } = params;
      const query = definedFields({ pageToken, syncToken, maxResults, showDeleted, showHidden });
      const res = await call((o) => client.calendarList.list(query, o), signal);
      return pageOf(res.data);
    },

    async watchCalendarList(request, signal) {
      const requestBody = watchBody(request);
      const res = await call((o) => client.calendarList.watch({ requestBody }, o), signal);
      return toChannel(res.data, request.id);
    },
  };
}

/** The fields of `fields` that are set: Google reads an explicit null or undefined differently. */
function definedFields<T extends object>(fields: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

/** A list page's items and tokens, with Google's nulls as undefined. */
function pageOf<I>(data: {
  items?: I[] | null;
  nextPageToken?: string | null;
  nextSyncToken?: string | null;
}): { items: I[]; nextPageToken: string | undefined; nextSyncToken: string | undefined } {
  return {
    items: data.items ?? [],
    nextPageToken: data.nextPageToken ?? undefined,
    nextSyncToken: data.nextSyncToken ?? undefined,
  };
}

function toChannel(data: calendar_v3.Schema$Channel, requestedId: string): WatchedChannel {
  const expiration = Number(data.expiration);
  return {
    id: data.id ?? requestedId,
    resourceId: data.resourceId ?? '',
    resourceUri: data.resourceUri ?? undefined,
    expiration: Number.isFinite(expiration) ? expiration : 0,
  };
}

function watchBody(request: WatchRequest): calendar_v3.Schema$Channel {
  return {
    id: request.id,
    type: 'web_hook',
    address: request.address,
    token: request.token,
    params: { ttl: String(request.ttlSeconds) },
  };
}

/** Rejects as soon as `signal` aborts, whatever `promise` does. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

function classifyTimeout(timeoutMs: number) {
  return {
    kind: 'transient' as const,
    status: undefined,
    reason: 'timeout',
    message: `no answer within ${timeoutMs} ms`,
  };
}

function classifyAborted() {
  return {
    kind: 'aborted' as const,
    status: undefined,
    reason: 'aborted',
    message: 'the call was aborted by the caller',
  };
}
