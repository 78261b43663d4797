// The daily window roll: drop occurrences that left the window, add the ones entering it at the far end.
import {
  Timestamp,
  type DocumentSnapshot,
  type Firestore,
  type Query,
} from '@google-cloud/firestore';
import type { CalendarRef } from '../store/events.js';
import { paths } from '../store/schema.js';
import { DEFAULT_WINDOW, occurrenceWindow, type WindowSettings } from './model.js';
import { refreshOccurrences, type RefreshStats } from './store.js';

const DAY_MS = 24 * 3600 * 1000;
const PAGE = 500;

export interface RollOptions extends Partial<WindowSettings> {
  /**
   * How far before the window's end to look for events entering it (default 7 days): the roll
   * must run at least this often. Series are recomputed whatever this says.
   */
  enteringSlackDays?: number;
  calendarTimeZone?: string;
}

export interface RollStats extends RefreshStats {
  /** Occurrences deleted because they ended before the window's start. */
  expired: number;
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
  const occurrences = db.collection(paths.occurrences(uid, calendarId));
  const events = db.collection(paths.events(uid, calendarId));

  // 1. Ended before the window: gone (zero-length ones starting exactly at the start stay).
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

  // 2. Every series (its instances enter the window as it moves), and anything starting in the
  //    last days of the window (singles, exceptions of series whose master is not stored).
  const roots = new Set<string>();
  for await (const docs of pages(events.where('recurrence', '!=', null).select('id'))) {
    for (const doc of docs) roots.add(str(doc.get('id')) ?? doc.id);
  }
  const slack = (options.enteringSlackDays ?? 7) * DAY_MS;
  for await (const docs of pages(
    events
      .where('startAt', '>=', Timestamp.fromMillis(window.end - slack))
      .where('startAt', '<', Timestamp.fromMillis(window.end))
      .select('id', 'recurringEventId'),
  )) {
    for (const doc of docs) {
      const root = str(doc.get('recurringEventId')) ?? str(doc.get('id'));
      if (root) roots.add(root);
    }
  }
  const refreshed = await refreshOccurrences(db, cal, roots, {
    window,
    transactional: true,
    ...(options.calendarTimeZone ? { calendarTimeZone: options.calendarTimeZone } : {}),
  });
  return { ...refreshed, expired };
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
