// The narrow Calendar API interface calsync uses (sync worker, channel renewal, CLI), and its data shapes.
import type { calendar_v3 } from '@googleapis/calendar';

/** An Event resource exactly as Google sent it (JSON). Every field but `id` is optional. */
export type GoogleEvent = calendar_v3.Schema$Event;

export interface ListEventsParams {
  calendarId: string;
  syncToken?: string;
  pageToken?: string;
  /** Full sync only: Google rejects timeMin together with syncToken. */
  timeMin?: string;
  maxResults: number;
  singleEvents: boolean;
  /** Never with a syncToken (Google: "not allowed to set showDeleted to False"); omitted = false. */
  showDeleted?: boolean;
}

export interface EventsPage {
  items: GoogleEvent[];
  nextPageToken: string | undefined;
  nextSyncToken: string | undefined;
  /** The calendar's time zone, when Google includes it (it normally does). */
  timeZone: string | undefined;
}

export interface CalendarInfo {
  id: string;
  summary: string | undefined;
  timeZone: string | undefined;
}

export interface WatchRequest {
  /** Channel id (≤ 64 chars, unique). */
  id: string;
  /** Echoed back in X-Goog-Channel-Token. */
  token: string;
  address: string;
  ttlSeconds: number;
}

export interface WatchedChannel {
  id: string;
  resourceId: string;
  resourceUri: string | undefined;
  /** Expiration Google returned, ms since epoch. */
  expiration: number;
}

export interface ListCalendarListParams {
  pageToken?: string;
  syncToken?: string;
  maxResults?: number;
  showDeleted?: boolean;
  showHidden?: boolean;
}

export type CalendarListEntry = calendar_v3.Schema$CalendarListEntry;

export interface CalendarListPage {
  items: CalendarListEntry[];
  nextPageToken: string | undefined;
  nextSyncToken: string | undefined;
}

/**
 * What calsync needs from Google. Every method has a timeout, refreshes the access token and
 * retries once on 401, backs off on rate limits / 5xx / timeouts within the instance's budget,
 * and rejects with a `CalendarError` carrying a classified `kind`.
 */
export interface CalendarApi {
  listEvents(params: ListEventsParams, signal?: AbortSignal): Promise<EventsPage>;
  getCalendar(calendarId: string, signal?: AbortSignal): Promise<CalendarInfo>;
  watchEvents(
    calendarId: string,
    request: WatchRequest,
    signal?: AbortSignal,
  ): Promise<WatchedChannel>;
  /** Stops a channel; a 404 (unknown or already stopped channel) counts as success. */
  stopChannel(channel: { id: string; resourceId: string }, signal?: AbortSignal): Promise<void>;
  listCalendarList(params: ListCalendarListParams, signal?: AbortSignal): Promise<CalendarListPage>;
  watchCalendarList(request: WatchRequest, signal?: AbortSignal): Promise<WatchedChannel>;
}

export interface CalendarApiOptions {
  /** Total ms this instance may spend pausing between retries (default: config.retryBudgetMs). */
  retryBudgetMs?: number;
  /** Injected for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  now?: () => number;
  /** Called before each retry pause (for logs / tests). */
  onRetry?: (info: { attempt: number; delayMs: number; kind: string; status?: number }) => void;
}

/** Builds a CalendarApi for one user (one refresh token); make one per message. */
export type CalendarApiFactory = (
  refreshToken: string,
  options?: CalendarApiOptions,
) => CalendarApi;
