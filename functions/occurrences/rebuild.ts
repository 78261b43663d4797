// Whole-calendar occurrence reconcile (after a full sync, or to backfill): few queries, ids-only scans, bounded memory.
import type { DocumentSnapshot, Firestore, Query } from '@google-cloud/firestore';
import { FieldPath } from '@google-cloud/firestore';
import type { GoogleEvent } from '../calendar/api.js';
import { runLimited } from '../run-limited.js';
import { readCalendarDoc } from '../store/calendars.js';
import type { CalendarRef } from '../store/events.js';
import { encodeDocId, paths } from '../store/schema.js';
import { occurrenceDocument, sameDocument } from './document.js';
import { expandSingle } from './expand.js';
import {
  commitOps,
  refreshOccurrences,
  type Op,
  type RefreshOptions,
  type RefreshStats,
} from './store.js';

const PAGE = 1000;
const SINGLES_CHUNK = 300;

/**
 * Recomputes every occurrence of a calendar from its stored events and deletes occurrence docs no
 * event produces any more. Singles (most of a calendar) cost two keyed reads per chunk, no query;
 * series are recomputed one chunk of masters at a time. Memory: the calendar's ids, not its events.
 */
export async function rebuildOccurrences(
  db: Firestore,
  cal: CalendarRef,
  options: Omit<RefreshOptions, 'transactional'>,
): Promise<RefreshStats> {
  const timeZone =
    options.calendarTimeZone ??
    (await readCalendarDoc(db, cal.uid, cal.calendarId))?.timeZone ??
    'UTC';
  const roots = await scanRoots(db, cal);
  // Series: per chunk of masters, their exceptions and existing occurrences.
  const total = await refreshOccurrences(db, cal, roots.series, {
    ...options,
    calendarTimeZone: timeZone,
  });
  total.reads += roots.scanned;
  await refreshSingles(db, cal, roots.singles, { ...options, calendarTimeZone: timeZone }, total);
  await deleteStale(db, cal, roots, options, total);
  return total;
}

interface Roots {
  singles: Set<string>;
  series: Set<string>;
  scanned: number;
}

/** Which roots exist, and which are series (ids and two small fields only). */
async function scanRoots(db: Firestore, cal: CalendarRef): Promise<Roots> {
  const events = db.collection(paths.events(cal.uid, cal.calendarId));
  const roots: Roots = { singles: new Set(), series: new Set(), scanned: 0 };
  for await (const docs of pages(events.select('id', 'recurringEventId', 'recurrence'))) {
    roots.scanned += docs.length;
    for (const doc of docs) {
      const parent = str(doc.get('recurringEventId'));
      const id = str(doc.get('id'));
      if (parent) roots.series.add(parent);
      else if (id) {
        const recurrence = doc.get('recurrence') as unknown;
        if (Array.isArray(recurrence) && recurrence.length > 0) roots.series.add(id);
        else roots.singles.add(id);
      }
    }
  }
  for (const id of roots.series) roots.singles.delete(id);
  return roots;
}

/** Singles: the event and its one occurrence document, read by key, per chunk. */
async function refreshSingles(
  db: Firestore,
  cal: CalendarRef,
  singles: ReadonlySet<string>,
  options: Omit<RefreshOptions, 'transactional'> & { calendarTimeZone: string },
  total: RefreshStats,
): Promise<void> {
  const events = db.collection(paths.events(cal.uid, cal.calendarId));
  const occurrences = db.collection(paths.occurrences(cal.uid, cal.calendarId));
  const ids = [...singles];
  const chunks: string[][] = [];
  for (let i = 0; i < ids.length; i += SINGLES_CHUNK) chunks.push(ids.slice(i, i + SINGLES_CHUNK));
  await runLimited(chunks, 4, async (chunk) => {
    const [evs, occs] = await Promise.all([
      db.getAll(...chunk.map((id) => events.doc(encodeDocId(id)))),
      db.getAll(...chunk.map((id) => occurrences.doc(encodeDocId(id)))),
    ]);
    total.reads += 2 * chunk.length;
    const ops: Op[] = [];
    chunk.forEach((_id, i) => singleOp(evs[i]!, occs[i]!, options, ops, total));
    await commitOps(db, ops, options.fence);
    total.roots += chunk.length;
  });
}

function singleOp(
  ev: DocumentSnapshot,
  have: DocumentSnapshot,
  options: Omit<RefreshOptions, 'transactional'> & { calendarTimeZone: string },
  ops: Op[],
  total: RefreshStats,
): void {
  const wanted = ev.exists
    ? expandSingle(ev.data() as GoogleEvent, options.window, {
        calendarTimeZone: options.calendarTimeZone,
      })
    : [];
  const o = wanted[0];
  if (o) {
    const data = occurrenceDocument(o);
    if (have.exists && sameDocument(have.data(), data)) total.unchanged++;
    else {
      ops.push({ type: 'set', ref: have.ref, data });
      total.writes++;
    }
  } else if (have.exists) {
    ops.push({ type: 'delete', ref: have.ref });
    total.deletes++;
  }
}

/** Occurrence docs no root produces: their event is gone, or a former series is now single. */
async function deleteStale(
  db: Firestore,
  cal: CalendarRef,
  roots: Roots,
  options: Omit<RefreshOptions, 'transactional'>,
  total: RefreshStats,
): Promise<void> {
  const occurrences = db.collection(paths.occurrences(cal.uid, cal.calendarId));
  let stale: Op[] = [];
  for await (const docs of pages(occurrences.select('eventId'))) {
    total.reads += docs.length;
    for (const doc of docs) {
      const root = str(doc.get('eventId'));
      const keep =
        root !== undefined &&
        (roots.series.has(root) || (roots.singles.has(root) && doc.id === encodeDocId(root)));
      if (!keep) {
        stale.push({ type: 'delete', ref: doc.ref });
        total.deletes++;
      }
    }
    if (stale.length >= 500) {
      await commitOps(db, stale, options.fence);
      stale = [];
    }
  }
  await commitOps(db, stale, options.fence);
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

async function* pages(base: Query): AsyncGenerator<DocumentSnapshot[]> {
  let after: DocumentSnapshot | undefined;
  for (;;) {
    let q = base.orderBy(FieldPath.documentId()).limit(PAGE);
    if (after) q = q.startAfter(after);
    const snap = await q.get();
    if (snap.empty) return;
    yield snap.docs;
    if (snap.size < PAGE) return;
    after = snap.docs[snap.docs.length - 1];
  }
}
