// The occurrence view's data model (pure): one occurrence of a single event or of a recurring series.

/** A half-open range of instants [start, end), ms since epoch. */
export interface OccurrenceWindow {
  start: number;
  end: number;
}

export interface AttendeeCounts {
  accepted: number;
  declined: number;
  tentative: number;
  needsAction: number;
}

/** One occurrence, times as epoch ms (store.ts turns them into Firestore Timestamps). */
export interface Occurrence {
  /** Document id: `<eventId>` for a single event, `<eventId>_<originalStart>` for a series instance. */
  occurrenceId: string;
  /** The single event or the series master. */
  eventId: string;
  /** The series this occurrence belongs to (equal to eventId), null for a single event. */
  recurringEventId: string | null;
  /** The event document holding this occurrence's details: the exception when modified, else eventId. */
  sourceEventId: string;
  /** Start of the instance as the series defines it (series only). */
  originalStartAt: number | null;
  startAt: number;
  /** Exclusive end (all-day: midnight after the last day, in the calendar's zone). */
  endAt: number;
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

export interface WindowSettings {
  daysBack: number;
  daysAhead: number;
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * The window at `now`: whole UTC days, so it moves once a day (the daily roll) and every sync of
 * the same day computes the same bounds.
 */
export function occurrenceWindow(now: number, settings: WindowSettings): OccurrenceWindow {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  return {
    start: today - settings.daysBack * DAY_MS,
    end: today + (settings.daysAhead + 1) * DAY_MS,
  };
}

export const DEFAULT_WINDOW: WindowSettings = { daysBack: 30, daysAhead: 365 };
