// Whole-calendar occurrence reconcile (after a full sync, or to backfill): few queries, ids-only scans, bounded memory.
import type {
  CollectionReference,
  DocumentSnapshot,
  Firestore,
  Query,
} from '@google-cloud/firestore';
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
  const events = db.collection(paths.events(cal.uid, cal.calendarId));
  const occurrences = db.collection(paths.occurrences(cal.uid, cal.calendarId));
  const timeZone =
    options.calendarTimeZone ??
    (await readCalendarDoc(db, cal.uid, cal.calendarId))?.timeZone ??
    'UTC';
  const roots = await readRoots(events);
  // Series: per chunk of masters, their exceptions and existing occurrences.
  const total = await refreshOccurrences(db, cal, roots.series, {
    ...options,
    calendarTimeZone: timeZone,
  });
  total.reads += roots.scanned;
  const calendar = { db, events, occurrences, options: { ...options, calendarTimeZone: timeZone } };
  await refreshSingles(calendar, roots.singles, total);
  await deleteUnproduced(calendar, roots, total);
  return total;
}

/** The calendar being rebuilt: its two collections, with the zone resolved into the options. */
interface Rebuild {
  db: Firestore;
  events: CollectionReference;
  occurrences: CollectionReference;
  options: Omit<RefreshOptions, 'transactional'> & { calendarTimeZone: string };
}

/** Which roots exist, and which are series (ids and two small fields only). */
async function readRoots(
  events: CollectionReference,
): Promise<{ singles: Set<string>; series: Set<string>; scanned: number }> {
  const singles = new Set<string>();
  const series = new Set<string>();
  let scanned = 0;
  for await (const docs of pages(events.select('id', 'recurringEventId', 'recurrence'))) {
    scanned += docs.length;
    for (const doc of docs) {
      const parent = str(doc.get('recurringEventId'));
      const id = str(doc.get('id'));
      if (parent) series.add(parent);
      else if (id) {
        const recurrence = doc.get('recurrence') as unknown;
        if (Array.isArray(recurrence) && recurrence.length > 0) series.add(id);
        else singles.add(id);
      }
    }
  }
  for (const id of series) singles.delete(id);
  return { singles, series, scanned };
}

/** Singles: the event and its one occurrence document, read by key, a chunk at a time. */
async function refreshSingles(
  { db, events, occurrences, options }: Rebuild,
  singles: Set<string>,
  total: RefreshStats,
): Promise<void> {
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
    chunk.forEach((_id, i) => {
      const ev = evs[i]!;
      const have = occs[i]!;
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
    });
    await commitOps(db, ops, options.fence);
    total.roots += chunk.length;
  });
}

/** Occurrence docs no root produces: their event is gone, or a former series is now single. */
async function deleteUnproduced(
  { db, occurrences, options }: Rebuild,
  { singles, series }: { singles: Set<string>; series: Set<string> },
  total: RefreshStats,
): Promise<void> {
  let stale: Op[] = [];
  for await (const docs of pages(occurrences.select('eventId'))) {
    total.reads += docs.length;
    for (const doc of docs) {
      const root = str(doc.get('eventId'));
      const keep =
        root !== undefined &&
        (series.has(root) || (singles.has(root) && doc.id === encodeDocId(root)));
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
