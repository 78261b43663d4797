// Event documents of one calendar: read stored versions, write planned ops in batches, cascade and sweep deletions.
import {
  FieldPath,
  Timestamp,
  type DocumentReference,
  type Firestore,
} from '@google-cloud/firestore';
import type { GoogleEvent } from '../calendar/api.js';
import { runLimited } from '../run-limited.js';
import type { BatchQueue } from './batches.js';
import { commitFenced, MAX_FENCED_BATCH, type WriteFence } from './fence.js';
import { paths } from './schema.js';

/** What the mirror holds for one event (read before deciding). */
export interface StoredEventState {
  etag: string | undefined;
  updated: string | undefined;
  status: string | undefined;
  startAt: number | undefined;
  endAt: number | undefined;
  /** The series an exception or tombstone belongs to (its master may be a `_R` split master). */
  recurringEventId?: string | undefined;
}

export type EventOp =
  | {
      type: 'set';
      docId: string;
      event: GoogleEvent;
      startAt: number | undefined;
      endAt: number | undefined;
    }
  | { type: 'delete'; docId: string };

/** Batches committed at once. */
const BATCH_CONCURRENCY = 4;
/** Stored versions are read in batchGets of this size, this many at once. */
const READ_CHUNK = 250;
const READ_CONCURRENCY = 10;
/** `in` queries take at most 30 values. */
const IN_LIMIT = 30;

export interface CalendarRef {
  uid: string;
  calendarId: string;
}

function eventsCollection(db: Firestore, cal: CalendarRef) {
  return db.collection(paths.events(cal.uid, cal.calendarId));
}

function toMs(value: unknown): number | undefined {
  return value instanceof Timestamp ? value.toMillis() : undefined;
}
const str = (value: unknown) => (typeof value === 'string' ? value : undefined);

/** The stored version of each listed document id (absent ids are missing from the map). */
export async function readEventStates(
  db: Firestore,
  cal: CalendarRef,
  docIds: readonly string[],
): Promise<Map<string, StoredEventState>> {
  const out = new Map<string, StoredEventState>();
  if (docIds.length === 0) return out;
  const col = eventsCollection(db, cal);
  const unique = [...new Set(docIds)];
  const chunks: string[][] = [];
  for (let i = 0; i < unique.length; i += READ_CHUNK) chunks.push(unique.slice(i, i + READ_CHUNK));
  // Several smaller batchGets in parallel: measured ~3x faster than one large one on the emulator.
  await runLimited(chunks, READ_CONCURRENCY, async (ids) => {
    const snaps = await db.getAll(...ids.map((id) => col.doc(id)), {
      fieldMask: ['etag', 'updated', 'status', 'startAt', 'endAt', 'recurringEventId'],
    });
    for (const snap of snaps) {
      if (!snap.exists) continue;
      out.set(snap.id, {
        etag: str(snap.get('etag')),
        updated: str(snap.get('updated')),
        status: str(snap.get('status')),
        startAt: toMs(snap.get('startAt')),
        endAt: toMs(snap.get('endAt')),
        recurringEventId: str(snap.get('recurringEventId')),
      });
    }
  });
  return out;
}

/** The document body: the event as Google sent it plus startAt/endAt Timestamps (null when absent). */
export function eventDocument(op: Extract<EventOp, { type: 'set' }>): Record<string, unknown> {
  return {
    ...(op.event as Record<string, unknown>),
    startAt: op.startAt === undefined ? null : Timestamp.fromMillis(op.startAt),
    endAt: op.endAt === undefined ? null : Timestamp.fromMillis(op.endAt),
  };
}

/**
 * Applies ops in fenced batches (not atomic across batches: every op is idempotent). The first
 * failure stops new batches; those in flight are awaited before it is rethrown, so nothing of this
 * call is still on its way when the caller gives the lease up. Returns writes and deletes.
 * With `queue` (built on the same fence) the ops are only queued, each tagged with its op: they
 * land by the caller's `queue.flush()`, pipelined with whatever else it queues (the occurrences).
 */
export async function writeEventOps(
  db: Firestore,
  cal: CalendarRef,
  ops: readonly EventOp[],
  fence: WriteFence,
  queue?: BatchQueue,
): Promise<{ writes: number; deletes: number }> {
  const col = eventsCollection(db, cal);
  let writes = 0;
  let deletes = 0;
  for (const op of ops) {
    if (op.type === 'set') writes++;
    else deletes++;
  }
  if (queue) {
    for (const op of ops) {
      const ref = col.doc(op.docId);
      if (op.type === 'set') await queue.set(ref, eventDocument(op), op);
      else await queue.delete(ref, op);
    }
    return { writes, deletes };
  }
  const chunks: EventOp[][] = [];
  for (let i = 0; i < ops.length; i += MAX_FENCED_BATCH) {
    chunks.push(ops.slice(i, i + MAX_FENCED_BATCH));
  }
  await runLimited(chunks, BATCH_CONCURRENCY, async (chunk) => {
    const batch = fence.batch();
    for (const op of chunk) {
      const ref = col.doc(op.docId);
      if (op.type === 'set') batch.set(ref, eventDocument(op));
      else batch.delete(ref);
    }
    await commitFenced(fence, batch);
  });
  return { writes, deletes };
}

/** Deletes the stored exceptions and tombstones of the given series masters; returns how many. */
/** Callbacks around a deletion the caller did not plan item by item (cascade, sweep). */
export interface DeleteHooks {
  /** Before the documents are deleted (e.g. the change feed's outbox, written first). */
  before?: (docIds: string[]) => Promise<void>;
  /** After they are deleted (e.g. the occurrence view, recomputed from what is stored). */
  after?: (docIds: string[]) => void | Promise<void>;
}

export async function deleteExceptionsOf(
  db: Firestore,
  cal: CalendarRef,
  masterIds: readonly string[],
  fence: WriteFence,
  hooks: DeleteHooks = {},
): Promise<number> {
  if (masterIds.length === 0) return 0;
  const col = eventsCollection(db, cal);
  const ops: EventOp[] = [];
  for (let i = 0; i < masterIds.length; i += IN_LIMIT) {
    const chunk = masterIds.slice(i, i + IN_LIMIT);
    const snap = await col.where('recurringEventId', 'in', chunk).select().get();
    for (const doc of snap.docs) ops.push({ type: 'delete', docId: doc.id });
  }
  if (ops.length === 0) return 0;
  const docIds = ops.map((op) => op.docId);
  await hooks.before?.(docIds);
  const { deletes } = await writeEventOps(db, cal, ops, fence);
  await hooks.after?.(docIds);
  return deletes;
}

/** Whether the calendar has any stored event (a first full sync can then skip reads and sweep). */
export async function hasStoredEvents(db: Firestore, cal: CalendarRef): Promise<boolean> {
  const snap = await eventsCollection(db, cal).select().limit(1).get();
  return !snap.empty;
}

/** Every stored document id, page by page (memory: one page of ids at a time). */
export async function* storedEventIds(
  db: Firestore,
  cal: CalendarRef,
  pageSize = 2500,
): AsyncGenerator<string[]> {
  const col = eventsCollection(db, cal);
  let after: DocumentReference | undefined;
  for (;;) {
    let query = col.orderBy(FieldPath.documentId()).select().limit(pageSize);
    if (after) query = query.startAfter(after);
    const snap = await query.get();
    if (snap.empty) return;
    yield snap.docs.map((d) => d.id);
    if (snap.size < pageSize) return;
    after = snap.docs[snap.docs.length - 1]!.ref;
  }
}

/** Deletes every stored id not in `seen` (the full sync's sweep, after its last page). */
export async function sweepUnseen(
  db: Firestore,
  cal: CalendarRef,
  seen: ReadonlySet<string>,
  fence: WriteFence,
  hooks: DeleteHooks = {},
): Promise<number> {
  let deleted = 0;
  let pendingOps: EventOp[] = [];
  const flush = async () => {
    if (pendingOps.length === 0) return;
    const docIds = pendingOps.map((op) => op.docId);
    await hooks.before?.(docIds);
    deleted += (await writeEventOps(db, cal, pendingOps, fence)).deletes;
    await hooks.after?.(docIds);
    pendingOps = [];
  };
  for await (const ids of storedEventIds(db, cal)) {
    for (const id of ids) if (!seen.has(id)) pendingOps.push({ type: 'delete', docId: id });
    if (pendingOps.length >= MAX_FENCED_BATCH) await flush();
  }
  await flush();
  return deleted;
}

/** Live events, tombstones and quarantined stubs stored for a calendar (aggregation queries: no document reads). */
export async function countEvents(
  db: Firestore,
  cal: CalendarRef,
): Promise<{ events: number; tombstones: number; quarantined: number }> {
  const col = eventsCollection(db, cal);
  const [all, cancelled, quarantined] = await Promise.all([
    col.count().get(),
    col.where('status', '==', 'cancelled').count().get(),
    col.where('calsync.quarantine.at', '>', Timestamp.fromMillis(0)).count().get(),
  ]);
  const tombstones = cancelled.data().count;
  return {
    events: all.data().count - tombstones,
    tombstones,
    quarantined: quarantined.data().count,
  };
}

/** Deletes the calendar's events and occurrences (calendar removed, data not kept). */
export async function deleteCalendarData(db: Firestore, cal: CalendarRef): Promise<void> {
  const writer = db.bulkWriter({ throttling: false });
  await db.recursiveDelete(eventsCollection(db, cal), writer);
  await db.recursiveDelete(db.collection(paths.occurrences(cal.uid, cal.calendarId)), writer);
  await writer.close();
}
