// The daily window roll: drop occurrences that left the window, add the ones entering it at the far end.
import {
  Timestamp,
  type DocumentSnapshot,
  type Firestore,
  type Query,
} from '@google-cloud/firestore';
import type { CalendarRef } from '../store/events.js';
import { paths } from '../store/schema.js';
import { readCalendarDoc } from '../store/calendars.js';
import { log, type Logger } from '../log.js';
import { writeEnteringSlice } from './enter.js';
import {
  DEFAULT_WINDOW,
  occurrenceWindow,
  type OccurrenceWindow,
  type WindowSettings,
} from './model.js';
import { addStats, emptyStats, refreshOccurrences, type RefreshStats } from './store.js';

const DAY_MS = 24 * 3600 * 1000;
const PAGE = 500;

export interface RollOptions extends Partial<WindowSettings> {
  /**
   * How far before the window's end to look for events entering it (default 7 days): the roll
   * must run at least this often. Series are recomputed whatever this says.
   */
  enteringSlackDays?: number;
  calendarTimeZone?: string;
  /**
   * The end of the window the calendar was last rolled to (ms), when known: only the occurrences
   * starting from there to the new end are computed and read (the day's move), not every series'
   * whole window. Absent, or outside the new window (a window setting changed): every series is
   * recomputed.
   */
  rolledThrough?: number | null;
  logger?: Logger;
}

export interface RollStats extends RefreshStats {
  /** Occurrences deleted because they ended before the window's start. */
  expired: number;
  /** The window rolled to (store its `end` as the next roll's `rolledThrough`). */
  window: OccurrenceWindow;
  /** Whether only the entering slice was computed (false: every series recomputed). */
  incremental: boolean;
}

/**
 * Moves one calendar's occurrence window to `now` (call daily, e.g. from renewChannels for each
 * active subscription). Idempotent; safe beside a running sync (transactions per chunk of series).
 */
export async function rollOccurrenceWindow(
  db: Firestore,
  uid: string,
  calendarId: string,
  now: number,
  options: RollOptions = {},
): Promise<RollStats> {
  const cal: CalendarRef = { uid, calendarId };
  const window = occurrenceWindow(now, {
    daysBack: options.daysBack ?? DEFAULT_WINDOW.daysBack,
    daysAhead: options.daysAhead ?? DEFAULT_WINDOW.daysAhead,
  });
  const from = options.rolledThrough ?? null;
  if (from !== null && from > window.start && from <= window.end) {
    // The two ends move independently: dropped and added at once (round trips, not documents).
    const [expired, entering] = await Promise.all([
      dropExpired(db, cal, window),
      from < window.end ? rollEntering(db, cal, window, from, options) : emptyStats(),
    ]);
    return { ...entering, expired, window, incremental: true };
  }
  const expired = await dropExpired(db, cal, window);
  const refreshed = await recomputeAll(db, cal, window, options);
  return { ...refreshed, expired, window, incremental: false };
}

/** Deletes what ended before the window (zero-length ones starting exactly at the start stay). */
async function dropExpired(db: Firestore, cal: CalendarRef, window: OccurrenceWindow) {
  const occurrences = db.collection(paths.occurrences(cal.uid, cal.calendarId));
  let expired = 0;
  for await (const docs of pages(
    occurrences.where('endAt', '<=', Timestamp.fromMillis(window.start)).select('startAt'),
  )) {
    const batch = db.batch();
    let n = 0;
    for (const doc of docs) {
      const startAt = doc.get('startAt') as Timestamp | undefined;
      if (startAt && startAt.toMillis() >= window.start) continue;
      batch.delete(doc.ref);
      n++;
    }
    if (n > 0) await batch.commit();
    expired += n;
  }
  return expired;
}

/** Every series (its instances enter the window as it moves), and anything starting in the last days. */
async function recomputeAll(
  db: Firestore,
  cal: CalendarRef,
  window: OccurrenceWindow,
  options: RollOptions,
): Promise<RefreshStats> {
  const slack = (options.enteringSlackDays ?? 7) * DAY_MS;
  const roots = await rootsStarting(db, cal, window.end - slack, window.end);
  for (const id of await seriesIds(db, cal)) roots.add(id);
  return refreshOccurrences(db, cal, roots, {
    window,
    transactional: true,
    ...(options.calendarTimeZone ? { calendarTimeZone: options.calendarTimeZone } : {}),
  });
}

/**
 * The day's move at the far end: the occurrences starting in [from, window end) of every series,
 * of the singles and exceptions starting there, and of whatever is stored there already.
 */
async function rollEntering(
  db: Firestore,
  cal: CalendarRef,
  window: OccurrenceWindow,
  from: number,
  options: RollOptions,
): Promise<RefreshStats> {
  // Independent reads, at once: what is stored in the slice, the roots that may produce there.
  const [storedInSlice, starting, series, calendarTimeZone] = await Promise.all([
    storedFrom(db, cal, from),
    // An event's stored startAt reads all-day dates in the zone it was stored with: a day's margin.
    rootsStarting(db, cal, from - 2 * DAY_MS, window.end + DAY_MS),
    seriesIds(db, cal),
    options.calendarTimeZone ??
      readCalendarDoc(db, cal.uid, cal.calendarId).then((doc) => doc?.timeZone ?? undefined),
  ]);
  const roots = new Set([...starting, ...series, ...storedInSlice.keys()]);
  const logger = options.logger ?? log;
  const { truncated, ...stats } = await writeEnteringSlice(db, cal, roots, {
    window,
    from,
    calendarTimeZone: calendarTimeZone ?? 'UTC',
    storedInSlice,
    logger,
  });
  if (truncated.length > 0) {
    // A series at the per-series limit: which instances are shown moves with the window's start.
    const opts = {
      window,
      transactional: true,
      logger,
      calendarTimeZone: calendarTimeZone ?? 'UTC',
    };
    addStats(stats, await refreshOccurrences(db, cal, truncated, opts));
  }
  return stats;
}

/** Occurrence doc ids starting at or after `from`, by eventId. */
async function storedFrom(db: Firestore, cal: CalendarRef, from: number) {
  const occurrences = db.collection(paths.occurrences(cal.uid, cal.calendarId));
  const out = new Map<string, string[]>();
  for await (const docs of pages(
    occurrences.where('startAt', '>=', Timestamp.fromMillis(from)).select('eventId'),
  )) {
    for (const doc of docs) {
      const eventId = str(doc.get('eventId'));
      if (eventId) out.set(eventId, [...(out.get(eventId) ?? []), doc.id]);
    }
  }
  return out;
}

/** Ids of every stored series master. */
async function seriesIds(db: Firestore, cal: CalendarRef): Promise<string[]> {
  const events = db.collection(paths.events(cal.uid, cal.calendarId));
  const out: string[] = [];
  for await (const docs of pages(events.where('recurrence', '!=', null).select('id'))) {
    for (const doc of docs) out.push(str(doc.get('id')) ?? doc.id);
  }
  return out;
}

/** Roots (a single's own id, an exception's series) of the events starting in [from, to). */
async function rootsStarting(
  db: Firestore,
  cal: CalendarRef,
  from: number,
  to: number,
): Promise<Set<string>> {
  const events = db.collection(paths.events(cal.uid, cal.calendarId));
  const roots = new Set<string>();
  for await (const docs of pages(
    events
      .where('startAt', '>=', Timestamp.fromMillis(from))
      .where('startAt', '<', Timestamp.fromMillis(to))
      .select('id', 'recurringEventId'),
  )) {
    for (const doc of docs) {
      const root = str(doc.get('recurringEventId')) ?? str(doc.get('id'));
      if (root) roots.add(root);
    }
  }
  return roots;
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

async function* pages(query: Query): AsyncGenerator<DocumentSnapshot[]> {
  let after: DocumentSnapshot | undefined;
  for (;;) {
    const snap = await (after ? query.startAfter(after) : query).limit(PAGE).get();
    if (snap.empty) return;
    yield snap.docs;
    if (snap.size < PAGE) return;
    after = snap.docs[snap.docs.length - 1];
  }
}
