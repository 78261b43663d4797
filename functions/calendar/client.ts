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
  const auth = new OAuth2Client({
    clientId: config.oauth.clientId,
    clientSecret: config.oauth.clientSecret,
    endpoints: { oauth2TokenUrl: config.oauth.tokenUrl },
    // The token refresh happens inside API calls; give it the same timeout.
    transporterOptions: { timeout: config.googleTimeoutMs },
  });
  const now = options.now ?? Date.now;
  const cached = cachedAuth(auth, config, refreshToken, now);
  const client: calendar_v3.Calendar = calendar({
    version: 'v3',
    // googleapis-common pins its own copy of google-auth-library; the classes are the same at run time.
    auth: auth as unknown as calendar_v3.Options['auth'],
    rootUrl: config.calendarApiUrl,
  });
  const call = caller(config, options, policy, now, () => {
    // The client replays a 401 itself only without expiry_date (CALENDAR-API.md): force it.
    accessTokenCache.delete(cached.key);
    auth.setCredentials({ refresh_token: refreshToken });
  });
  return { ...eventMethods(client, call), ...channelMethods(client, call) };
}

type Call = <T>(fn: (o: CallOptions) => Promise<T>, signal?: AbortSignal) => Promise<T>;

/** One logical call: timeout per try, one forced refresh on 401, backoff on retryable kinds. */
function caller(
  config: CalendarClientConfig,
  options: CalendarApiOptions,
  policy: BackoffPolicy,
  now: () => number,
  forceRefresh: () => void,
): Call {
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  const budget = new RetryBudget(options.retryBudgetMs ?? config.retryBudgetMs, now);
  return async function call<T>(
    fn: (o: CallOptions) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
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
          ? {
              kind: 'transient' as const,
              status: undefined,
              reason: 'timeout',
              message: `no answer within ${config.googleTimeoutMs} ms`,
            }
          : classifyGoogleError(err);
        if (info.kind === 'unauthorized' && !refreshed) {
          refreshed = true;
          forceRefresh();
          attempt--;
          continue;
        }
        if (isRetryable(info.kind)) {
          const delay = budget.nextDelay(attempt, policy, random);
          if (delay !== undefined) {
            options.onRetry?.({
              attempt,
              delayMs: delay,
              kind: info.kind,
              ...(info.status !== undefined ? { status: info.status } : {}),
            });
            await sleep(delay, signal);
            continue;
          }
        }
        throw new CalendarError(info, { cause: err });
      }
    }
  };
}

const toChannel = (data: calendar_v3.Schema$Channel, requestedId: string): WatchedChannel => {
  const expiration = Number(data.expiration);
  return {
    id: data.id ?? requestedId,
    resourceId: data.resourceId ?? '',
    resourceUri: data.resourceUri ?? undefined,
    expiration: Number.isFinite(expiration) ? expiration : 0,
  };
};

const watchBody = (request: WatchRequest): calendar_v3.Schema$Channel => ({
  id: request.id,
  type: 'web_hook',
  address: request.address,
  token: request.token,
  params: { ttl: String(request.ttlSeconds) },
});

/** events.list, calendars.get, events.watch. */
function eventMethods(
  client: calendar_v3.Calendar,
  call: Call,
): Pick<CalendarApi, 'listEvents' | 'getCalendar' | 'watchEvents'> {
  return {
    async listEvents(params, signal): Promise<EventsPage> {
      const res = await call(
        (o) =>
          client.events.list(
            {
              calendarId: params.calendarId,
              maxResults: params.maxResults,
              singleEvents: params.singleEvents,
              ...(params.showDeleted !== undefined ? { showDeleted: params.showDeleted } : {}),
              ...(params.syncToken !== undefined ? { syncToken: params.syncToken } : {}),
              ...(params.pageToken !== undefined ? { pageToken: params.pageToken } : {}),
              ...(params.timeMin !== undefined ? { timeMin: params.timeMin } : {}),
            },
            o,
          ),
        signal,
      );
      return {
        items: res.data.items ?? [],
        nextPageToken: res.data.nextPageToken ?? undefined,
        nextSyncToken: res.data.nextSyncToken ?? undefined,
        timeZone: res.data.timeZone ?? undefined,
      };
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
      const res = await call(
        (o) => client.events.watch({ calendarId, requestBody: watchBody(request) }, o),
        signal,
      );
      return toChannel(res.data, request.id);
    },
  };
}

/** channels.stop, calendarList.list, calendarList.watch. */
function channelMethods(
  client: calendar_v3.Calendar,
  call: Call,
): Pick<CalendarApi, 'stopChannel' | 'listCalendarList' | 'watchCalendarList'> {
  return {
    async stopChannel(channel, signal) {
      try {
        await call(
          (o) =>
            client.channels.stop(
              { requestBody: { id: channel.id, resourceId: channel.resourceId } },
              o,
            ),
          signal,
        );
      } catch (err) {
        if (err instanceof CalendarError && err.kind === 'not_found') return;
        throw err;
      }
    },

    async listCalendarList(params, signal): Promise<CalendarListPage> {
      const res = await call(
        (o) =>
          client.calendarList.list(
            {
              ...(params.pageToken !== undefined ? { pageToken: params.pageToken } : {}),
              ...(params.syncToken !== undefined ? { syncToken: params.syncToken } : {}),
              ...(params.maxResults !== undefined ? { maxResults: params.maxResults } : {}),
              ...(params.showDeleted !== undefined ? { showDeleted: params.showDeleted } : {}),
              ...(params.showHidden !== undefined ? { showHidden: params.showHidden } : {}),
            },
            o,
          ),
        signal,
      );
      return {
        items: res.data.items ?? [],
        nextPageToken: res.data.nextPageToken ?? undefined,
        nextSyncToken: res.data.nextSyncToken ?? undefined,
      };
    },

    async watchCalendarList(request, signal) {
      const res = await call(
        (o) => client.calendarList.watch({ requestBody: watchBody(request) }, o),
        signal,
      );
      return toChannel(res.data, request.id);
    },
  };
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
    registerSecret(tokens.access_token ?? undefined);
    if (tokens.access_token && typeof tokens.expiry_date === 'number') {
      const expiresAt = now() + (tokens.expiry_date - Date.now());
      accessTokenCache.set(key, { accessToken: tokens.access_token, expiresAt });
    }
  });
  return { key };
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

function classifyAborted() {
  return {
    kind: 'aborted' as const,
    status: undefined,
    reason: 'aborted',
    message: 'the call was aborted by the caller',
  };
}
