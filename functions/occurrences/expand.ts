// Pure expansion of stored events into occurrences: singles, series (RRULE/RDATE/EXDATE), exceptions, tombstones.
import type { GoogleEvent } from '../calendar/api.js';
import { instantOf } from '../time/event-times.js';
import type { AttendeeCounts, Occurrence, OccurrenceWindow } from './model.js';
import { buildRuleSet, instancesBetween } from './recurrence.js';
import { compactUtc, instantOfWall, isKnownZone, isoDate, parseIsoDate, wallOf } from './zone.js';

const DAY_MS = 24 * 3600 * 1000;

export interface ExpandOptions {
  /** The calendar's zone: all-day midnights, and timed events without a zone of their own. */
  calendarTimeZone?: string;
  /** Most instances produced per series inside the window (guards against runaway rules). */
  limit?: number;
}

export const MAX_INSTANCES_PER_SERIES = 5000;

/** Does [startAt, endAt) meet the window? (A zero-length event counts when it starts inside.) */
export function inWindow(startAt: number, endAt: number, w: OccurrenceWindow): boolean {
  return startAt < w.end && (endAt > w.start || startAt >= w.start);
}

function attendeeCounts(event: GoogleEvent): AttendeeCounts | null {
  if (!event.attendees || event.attendees.length === 0) return null;
  const counts: AttendeeCounts = { accepted: 0, declined: 0, tentative: 0, needsAction: 0 };
  for (const a of event.attendees) {
    const r = a.responseStatus;
    if (r === 'accepted' || r === 'declined' || r === 'tentative') counts[r]++;
    else counts.needsAction++;
  }
  return counts;
}

/** The fields a calendar UI shows, taken from the event document the occurrence comes from. */
function details(event: GoogleEvent) {
  return {
    summary: event.summary ?? null,
    location: event.location ?? null,
    status: event.status === 'tentative' ? 'tentative' : 'confirmed',
    attendees: attendeeCounts(event),
    selfResponse: event.attendees?.find((a) => a.self)?.responseStatus ?? null,
    updated: event.updated ?? null,
    htmlLink: event.htmlLink ?? null,
  };
}

interface Times {
  startAt: number;
  endAt: number;
  allDay: boolean;
  startDate: string | null;
  endDate: string | null;
  timeZone: string | null;
}

/** An event's own start/end, or undefined when it has none usable. */
function timesOf(event: GoogleEvent, calendarTimeZone: string): Times | undefined {
  const startAt = instantOf(event.start, calendarTimeZone);
  if (startAt === undefined) return undefined;
  const endAt = Math.max(instantOf(event.end, calendarTimeZone) ?? startAt, startAt);
  const allDay = !!event.start?.date && !event.start.dateTime;
  return {
    startAt,
    endAt,
    allDay,
    startDate: allDay ? (event.start?.date ?? null) : null,
    endDate: allDay ? (event.end?.date ?? null) : null,
    timeZone: allDay ? null : (event.start?.timeZone ?? null),
  };
}

/** The instance key (`YYYYMMDD` or `YYYYMMDDTHHMMSSZ`) an exception's originalStartTime names. */
export function originalKey(
  original: GoogleEvent['originalStartTime'],
  timeZone: string,
): { key: string; at: number } | undefined {
  if (!original) return undefined;
  if (original.date && !original.dateTime) {
    const day = parseIsoDate(original.date);
    if (day === undefined) return undefined;
    return { key: original.date.replace(/-/g, ''), at: instantOfWall(day, timeZone) };
  }
  const at = instantOf(original, timeZone);
  return at === undefined ? undefined : { key: compactUtc(at), at };
}

function zoneOr(zone: string | null | undefined, fallback: string): string {
  return isKnownZone(zone) ? zone : fallback;
}

/** A single (non-recurring) event → at most one occurrence, with the event id as occurrence id. */
export function expandSingle(
  event: GoogleEvent,
  window: OccurrenceWindow,
  options: ExpandOptions = {},
): Occurrence[] {
  if (!event.id || event.status === 'cancelled') return [];
  const times = timesOf(event, zoneOr(options.calendarTimeZone, 'UTC'));
  if (!times || !inWindow(times.startAt, times.endAt, window)) return [];
  return [
    {
      occurrenceId: event.id,
      eventId: event.id,
      recurringEventId: null,
      sourceEventId: event.id,
      originalStartAt: null,
      ...times,
      ...details(event),
    },
  ];
}

/**
 * A series → its occurrences overlapping the window, in start order. `exceptions` are the stored
 * events with recurringEventId === master.id: a live one replaces its instance (wherever it moved),
 * a cancelled one (tombstone) removes it. Without a master (e.g. the user was invited to one
 * instance only) the live exceptions alone are shown. A cancelled master shows nothing.
 */
export function expandSeries(
  master: GoogleEvent | undefined,
  exceptions: readonly GoogleEvent[],
  window: OccurrenceWindow,
  options: ExpandOptions = {},
): Occurrence[] {
  const seriesId = master?.id ?? exceptions.find((e) => e.recurringEventId)?.recurringEventId;
  if (!seriesId || master?.status === 'cancelled') return [];
  const calendarZone = zoneOr(options.calendarTimeZone, 'UTC');
  const seriesZone = zoneOr(master?.start?.timeZone, calendarZone);
  const series: Series = { id: seriesId, calendarZone, seriesZone, window };
  const byKey = exceptionsByKey(series, exceptions);
  const masterTimes = master ? timesOf(master, seriesZone) : undefined;
  const limit = options.limit ?? MAX_INSTANCES_PER_SERIES;
  const out = master && masterTimes ? expandMaster(series, master, masterTimes, byKey, limit) : [];
  // Exceptions whose original instance lies outside the expanded range (moved far) or whose
  // master is not stored: shown where they are now.
  for (const [key, e] of byKey) {
    const occurrence = exceptionOccurrence(series, key, e);
    if (occurrence) out.push(occurrence);
  }
  return out.sort((a, b) => a.startAt - b.startAt || a.occurrenceId.localeCompare(b.occurrenceId));
}

/** One series being expanded: its id, the zones its times are read in, and the window. */
interface Series {
  id: string;
  calendarZone: string;
  seriesZone: string;
  window: OccurrenceWindow;
}

/** A stored exception and the instant of the instance it replaces. */
interface Exception {
  event: GoogleEvent;
  at: number;
}

/** The series' exceptions by the key of the instance each replaces. */
function exceptionsByKey(
  series: Series,
  exceptions: readonly GoogleEvent[],
): Map<string, Exception> {
  const byKey = new Map<string, Exception>();
  for (const e of exceptions) {
    if (e.recurringEventId !== series.id) continue;
    const zone = zoneOr(e.originalStartTime?.timeZone, series.seriesZone);
    const k = originalKey(e.originalStartTime, zone);
    if (k) byKey.set(k.key, { event: e, at: k.at });
  }
  return byKey;
}

/** A live exception in the window → its occurrence (a tombstone or one outside → none). */
function exceptionOccurrence(series: Series, key: string, e: Exception): Occurrence | undefined {
  if (e.event.status === 'cancelled') return undefined;
  const times = timesOf(e.event, series.calendarZone);
  if (!times || !inWindow(times.startAt, times.endAt, series.window)) return undefined;
  return {
    occurrenceId: `${series.id}_${key}`,
    eventId: series.id,
    recurringEventId: series.id,
    sourceEventId: e.event.id ?? `${series.id}_${key}`,
    originalStartAt: e.at,
    ...times,
    ...details(e.event),
  };
}

/** The master's rule instances in the window; an instance with an exception is replaced by it (taken out of `byKey`). */
function expandMaster(
  series: Series,
  master: GoogleEvent,
  masterTimes: Times,
  byKey: Map<string, Exception>,
  limit: number,
): Occurrence[] {
  const { calendarZone, seriesZone, window } = series;
  const allDay = masterTimes.allDay;
  const zone = allDay ? calendarZone : seriesZone;
  const startDay = allDay ? parseIsoDate(master.start?.date) : undefined;
  const dtstart = startDay ?? wallOf(masterTimes.startAt, zone);
  const endDay = allDay ? parseIsoDate(master.end?.date) : undefined;
  const duration =
    allDay && startDay !== undefined
      ? Math.max((endDay ?? startDay + DAY_MS) - startDay, DAY_MS)
      : masterTimes.endAt - masterTimes.startAt;
  const set = buildRuleSet(master.recurrence ?? [], { dtstart, allDay, timeZone: zone });
  // Floating bounds wide enough for any zone offset; the exact overlap is checked per instance.
  const from = wallOf(window.start, zone) - duration - DAY_MS;
  const to = wallOf(window.end, zone) + DAY_MS;
  const out: Occurrence[] = [];
  for (const floating of instancesBetween(set, from, to, limit)) {
    const key = allDay
      ? isoDate(floating).replace(/-/g, '')
      : compactUtc(instantOfWall(floating, zone));
    const exception = byKey.get(key);
    if (exception) {
      byKey.delete(key);
      const moved = exceptionOccurrence(series, key, exception);
      if (moved) out.push(moved);
      continue;
    }
    const startAt = instantOfWall(floating, zone);
    const endAt = allDay ? instantOfWall(floating + duration, zone) : startAt + duration;
    if (!inWindow(startAt, endAt, window)) continue;
    out.push({
      occurrenceId: `${series.id}_${key}`,
      eventId: series.id,
      recurringEventId: series.id,
      sourceEventId: series.id,
      originalStartAt: startAt,
      startAt,
      endAt,
      allDay,
      startDate: allDay ? isoDate(floating) : null,
      endDate: allDay ? isoDate(floating + duration) : null,
      timeZone: allDay ? null : seriesZone,
      ...details(master),
    });
  }
  return out;
}

/**
 * Everything one root id contributes: `root` is the stored event with that id (a master, a single,
 * or absent), `children` the stored events whose recurringEventId is that id.
 */
export function occurrencesOf(
  root: GoogleEvent | undefined,
  children: readonly GoogleEvent[],
  window: OccurrenceWindow,
  options: ExpandOptions = {},
): Occurrence[] {
  if (root && !(root.recurrence && root.recurrence.length > 0)) {
    // A single event (children, if any, belonged to a series it no longer is: Google drops them).
    return expandSingle(root, window, options);
  }
  return expandSeries(root, children, window, options);
}
