// The occurrence view's data model (pure): one occurrence of a single event or of a recurring series.
import type { AttendeeCounts, OccurrenceFields } from '../read-models/types.js';

/** A half-open range of instants [start, end), ms since epoch. */
export interface OccurrenceWindow {
  start: number;
  end: number;
}

export type { AttendeeCounts };

/** One occurrence, times as epoch ms (store.ts turns them into Firestore Timestamps). */
export interface Occurrence extends OccurrenceFields {
  /** Document id: `<eventId>` for a single event, `<eventId>_<originalStart>` for a series instance. */
  occurrenceId: string;
  /** Start of the instance as the series defines it (series only). */
  originalStartAt: number | null;
  startAt: number;
  /** Exclusive end (all-day: midnight after the last day, in the calendar's zone). */
  endAt: number;
}

export interface WindowSettings {
  daysBack: number;
  daysAhead: number;
}

const DAY_MS = 24 * 3600 * 1000;

/** The start of `now`'s UTC day: the window moves there once a day. */
export const utcDayStart = (now: number) => Math.floor(now / DAY_MS) * DAY_MS;

/**
 * The window at `now`: whole UTC days, so it moves once a day (the daily roll) and every sync of
 * the same day computes the same bounds.
 */
export function occurrenceWindow(now: number, settings: WindowSettings): OccurrenceWindow {
  const today = utcDayStart(now);
  return {
    start: today - settings.daysBack * DAY_MS,
    end: today + (settings.daysAhead + 1) * DAY_MS,
  };
}

export const DEFAULT_WINDOW: WindowSettings = { daysBack: 30, daysAhead: 365 };
