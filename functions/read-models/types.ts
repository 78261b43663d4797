// The mirror's documents as a downstream app reads them (calendar, event, tombstone, occurrence, change-feed message): types only, for any Firestore SDK.

/**
 * A Firestore Timestamp, whichever SDK read it: the Admin SDK's (`@google-cloud/firestore`) and
 * the web SDK's (`firebase/firestore`) both have this shape. The document types take the SDK's own
 * Timestamp as `T`; code that serves both can keep the default.
 */
export interface TimestampLike {
  readonly seconds: number;
  readonly nanoseconds: number;
  toDate(): Date;
  toMillis(): number;
}

// --- users/{uid}/calendars/{calendarId} ------------------------------------------------------

export type SyncStatus = 'active' | 'needs_reauth' | 'error' | 'removed';
export type SyncMode = 'push' | 'poll';

/** The calendar's sync state (contract A). */
export interface CalendarSync<T = TimestampLike> {
  /** `needs_reauth` and `removed` wait for a person; `error` is retried automatically. */
  status: SyncStatus;
  /** `poll` for calendars Google refuses to push (holidays, birthdays). */
  mode: SyncMode;
  lastSyncedAt: T | null;
  lastError: { code: string; reason: string; at?: T } | null;
  /** Set while `status` is `error`: when the next automatic retry happens. */
  nextRetryAt: T | null;
  /** Items stored trimmed or as stubs (their documents carry `calsync.quarantine`). */
  quarantined: number;
  /** The Google account (email) the calendar syncs with. */
  account?: string;
}

/** `users/{uid}/calendars/{calendarId}`: one per connected calendar, readable by its user. */
export interface CalendarDocument<T = TimestampLike> {
  calendarId: string;
  summary: string | null;
  timeZone: string | null;
  /** Live events, and tombstones (cancelled instances of live series) kept beside them. */
  counts: { events: number; tombstones?: number };
  sync: CalendarSync<T>;
}

// --- users/{uid}/calendars/{calendarId}/events/{eventId} --------------------------------------

/** Google's EventDateTime: `date` for all-day, `dateTime` (RFC 3339) otherwise. */
export interface EventDateTime {
  date?: string;
  dateTime?: string;
  timeZone?: string;
}

export interface EventPerson {
  id?: string;
  email?: string;
  displayName?: string;
  /** The calendar's owner. */
  self?: boolean;
}

export interface EventAttendee extends EventPerson {
  responseStatus?: 'needsAction' | 'declined' | 'tentative' | 'accepted';
  optional?: boolean;
  organizer?: boolean;
  resource?: boolean;
  comment?: string;
  additionalGuests?: number;
}

/**
 * The Event resource as Google sent it (singleEvents=false), the fields most apps read typed;
 * every other field Google sends is stored too. Reference:
 * https://developers.google.com/calendar/api/v3/reference/events#resource
 */
export interface GoogleEventFields {
  [field: string]: unknown;
  kind?: 'calendar#event';
  id: string;
  status?: 'confirmed' | 'tentative' | 'cancelled';
  summary?: string;
  description?: string;
  location?: string;
  etag?: string;
  /** RFC 3339. */
  updated?: string;
  created?: string;
  htmlLink?: string;
  colorId?: string;
  creator?: EventPerson;
  organizer?: EventPerson;
  start?: EventDateTime;
  end?: EventDateTime;
  endTimeUnspecified?: boolean;
  /** RRULE/RDATE/EXDATE lines of a series master. */
  recurrence?: string[];
  /** Set on an instance (exception or tombstone): its series. */
  recurringEventId?: string;
  originalStartTime?: EventDateTime;
  transparency?: 'opaque' | 'transparent';
  visibility?: 'default' | 'public' | 'private' | 'confidential';
  iCalUID?: string;
  sequence?: number;
  attendees?: EventAttendee[];
  attendeesOmitted?: boolean;
  hangoutLink?: string;
  eventType?: string;
  extendedProperties?: { private?: Record<string, string>; shared?: Record<string, string> };
}

/** calsync's own marks on an event document. */
export interface CalsyncMarks<T = TimestampLike> {
  /** The item was stored trimmed (`droppedFields`) or as a stub, for `reason`. */
  quarantine?: { reason: string; droppedFields: string[]; at: T };
}

/** What calsync adds to Google's event: instants for range queries (all-day: midnight in the calendar's zone). */
interface MirrorFields<T> {
  startAt: T | null;
  /** Exclusive. */
  endAt: T | null;
  calsync?: CalsyncMarks<T>;
}

/** A live event: a single event, a series master or an edited instance. */
export interface EventDocument<T = TimestampLike> extends GoogleEventFields, MirrorFields<T> {
  status?: 'confirmed' | 'tentative';
}

/**
 * A cancelled instance of a live series, kept so a consumer expanding the series knows which
 * occurrence to skip. Queries for live events filter `status != "cancelled"`.
 */
export interface TombstoneDocument<T = TimestampLike> extends GoogleEventFields, MirrorFields<T> {
  status: 'cancelled';
  recurringEventId: string;
  originalStartTime: EventDateTime;
}

/** Any document of the events collection. */
export type MirrorDocument<T = TimestampLike> = EventDocument<T> | TombstoneDocument<T>;

// --- users/{uid}/calendars/{calendarId}/occurrences/{occurrenceId} ----------------------------

export interface AttendeeCounts {
  accepted: number;
  declined: number;
  tentative: number;
  needsAction: number;
}

/** An occurrence's fields other than its instants (shared with the server's occurrence model). */
export interface OccurrenceFields {
  /** The single event or the series master. */
  eventId: string;
  /** The series this occurrence belongs to (equal to eventId), null for a single event. */
  recurringEventId: string | null;
  /** The event document holding this occurrence's details: the exception when modified, else eventId. */
  sourceEventId: string;
  allDay: boolean;
  /** All-day only: Google's `YYYY-MM-DD` dates (end exclusive). */
  startDate: string | null;
  endDate: string | null;
  /** The zone the event is defined in (timed events), null for all-day ones. */
  timeZone: string | null;
  summary: string | null;
  location: string | null;
  /** `confirmed` or `tentative` (cancelled occurrences are absent). */
  status: string;
  attendees: AttendeeCounts | null;
  /** The calendar owner's own response, when they are an attendee. */
  selfResponse: string | null;
  /** `updated` of the event document it comes from (RFC 3339). */
  updated: string | null;
  htmlLink: string | null;
}

/**
 * `…/occurrences/{occurrenceId}`: one per occurrence in the rolling window. The document id is
 * `<eventId>` for a single event, `<eventId>_<originalStartUTC>` for an instance of a series.
 */
export interface OccurrenceDocument<T = TimestampLike> extends OccurrenceFields {
  startAt: T;
  /** Exclusive (all-day: midnight after the last day, in the calendar's zone). */
  endAt: T;
  /** Start of the instance as the series defines it (series only). */
  originalStartAt: T | null;
}

// --- the change feed (Pub/Sub, CALSYNC_CHANGES_TOPIC) -----------------------------------------

export type ChangeKind = 'created' | 'updated' | 'deleted';

/**
 * One change feed message (JSON data), published only after the change is in Firestore. Ordering
 * key `<uid>/<calendarId>`; attributes `uid`, `calendarId`, `change`.
 */
export interface ChangeMessage {
  v: 1;
  uid: string;
  calendarId: string;
  eventId: string;
  change: ChangeKind;
  /** The event's `updated` (RFC 3339) as Google sent it; null when a deletion did not carry one. */
  updated: string | null;
  /**
   * The lease fence of the sync that published it (decision 009): it grows with every takeover of
   * the calendar. A worker that lost its lease may still publish late, after the worker that took
   * over announced the same changes (from the outbox) and newer ones: drop a message whose fence
   * is below the highest you have seen for its calendar.
   */
  fence: number;
}
