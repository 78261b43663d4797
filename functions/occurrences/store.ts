// Occurrence writer: recompute the occurrences of given events from the stored mirror and write only what differs.
import {
  type CollectionReference,
  type DocumentReference,
  type DocumentSnapshot,
  type Firestore,
  type Query,
  type QuerySnapshot,
  type Transaction,
} from '@google-cloud/firestore';
import type { GoogleEvent } from '../calendar/api.js';
import { log, type Logger } from '../log.js';
import { runLimited } from '../run-limited.js';
import { readCalendarDoc } from '../store/calendars.js';
import type { CalendarRef } from '../store/events.js';
import { commitFenced, MAX_FENCED_BATCH, type WriteFence } from '../store/fence.js';
import { encodeDocId, paths } from '../store/schema.js';
import { occurrenceDocument, sameDocument } from './document.js';
import { occurrencesOf } from './expand.js';
import type { Occurrence, OccurrenceWindow } from './model.js';

/** `in` queries take at most 30 values: one chunk of root ids shares three reads. */
const CHUNK = 30;
const MAX_BATCH = 500;
/** Chunks planned and written at once (memory: CONCURRENCY × CHUNK series in flight). */
const CONCURRENCY = 8;

export interface RefreshOptions {
  window: OccurrenceWindow;
  /** The calendar's zone (all-day midnights); read from the calendar document when absent. */
  calendarTimeZone?: string;
  /**
   * Read and write each chunk in one transaction: for writers running outside the sync lease
   * (the window roll), so a concurrent sync's writes are never overwritten with older state.
   */
  transactional?: boolean;
  /** The sync's write fence: every batch fails atomically once the lease was taken over. */
  fence?: WriteFence;
  logger?: Logger;
}

export interface RefreshStats {
  /** Root ids (singles, series) recomputed. */
  roots: number;
  writes: number;
  deletes: number;
  unchanged: number;
  /** Documents read, as Firestore bills them (a query that finds nothing costs one). */
  reads: number;
  /** Filtered queries run (`in` queries: the emulator answers them by scanning the collection). */
  queries: number;
}

export const emptyStats = (): RefreshStats => ({
  roots: 0,
  writes: 0,
  deletes: 0,
  unchanged: 0,
  reads: 0,
  queries: 0,
});

/** Adds `more` into `into` (field by field). */
export function addStats(into: RefreshStats, more: RefreshStats): void {
  for (const k of Object.keys(into) as (keyof RefreshStats)[]) into[k] += more[k];
}

export type Op =
  | { type: 'set'; ref: DocumentReference; data: Record<string, unknown> }
  | { type: 'delete'; ref: DocumentReference };

export interface Reader {
  getAll(refs: DocumentReference[]): Promise<DocumentSnapshot[]>;
  query(q: Query): Promise<QuerySnapshot>;
}

export const plainReader = (db: Firestore): Reader => ({
  getAll: async (refs) => (refs.length === 0 ? [] : db.getAll(...refs)),
  query: (q) => q.get(),
});

export const txReader = (tx: Transaction): Reader => ({
  getAll: async (refs) => (refs.length === 0 ? [] : tx.getAll(...refs)),
  query: (q) => tx.get(q),
});

/**
 * The event ids whose occurrences a batch of Google items may change: a master or single is its
 * own root; an exception or tombstone belongs to its recurringEventId. An id-only deletion names
 * its series only through what was stored for it (`parentOf`): after a "this and following" split
 * the instance `<base>_<date>` belongs to the `<base>_R<date>` master, so a master is never derived
 * from an instance id alone — the `<base>` guess is added only as a harmless extra recompute.
 */
export function rootIdsOf(
  items: readonly GoogleEvent[],
  parentOf: (id: string) => string | undefined = () => undefined,
): string[] {
  const out = new Set<string>();
  for (const item of items) {
    if (item.recurringEventId) out.add(item.recurringEventId);
    if (!item.id) continue;
    if (item.recurringEventId) continue;
    out.add(item.id);
    const parent = parentOf(item.id);
    if (parent) out.add(parent);
    const instance = /^(.+)_\d{8}(T\d{6}Z?)?$/.exec(item.id);
    if (instance) out.add(instance[1]!);
  }
  return [...out];
}

/**
 * Recomputes the occurrences of exactly these root ids (series masters, singles) inside the
 * window from what the mirror stores — never from "what changed", so re-running after a crash
 * repairs a half-done pass — and writes only documents that differ; those no longer produced are
 * deleted. Re-running with nothing changed writes nothing.
 */
export async function refreshOccurrences(
  db: Firestore,
  cal: CalendarRef,
  ids: Iterable<string>,
  options: RefreshOptions,
): Promise<RefreshStats> {
  const stats = emptyStats();
  const queue = [...new Set(ids)];
  if (queue.length === 0) return stats;
  const timeZone =
    options.calendarTimeZone ??
    (await readCalendarDoc(db, cal.uid, cal.calendarId))?.timeZone ??
    'UTC';
  await inRounds(queue, async (chunk) => {
    const plan = async (reader: Reader) =>
      planChunk(db, cal, chunk, reader, options.window, timeZone, options.logger ?? log);
    const planned = options.transactional
      ? await planInTransaction(db, plan)
      : await plan(plainReader(db));
    await commitOps(db, planned.ops, options.fence);
    addPlanned(stats, chunk.length, planned, 2);
    return planned.redirects;
  });
  return stats;
}

/**
 * Rounds: the ids asked for, then the series reached through ids that named exceptions (what
 * `perChunk` returns); each id once, in chunks of CHUNK, CONCURRENCY chunks at once.
 */
export async function inRounds(
  ids: readonly string[],
  perChunk: (chunk: string[]) => Promise<string[]>,
): Promise<void> {
  const done = new Set<string>();
  let round = [...new Set(ids)];
  while (round.length > 0) {
    const fresh = round.filter((id) => !done.has(id));
    for (const id of fresh) done.add(id);
    const chunks: string[][] = [];
    for (let i = 0; i < fresh.length; i += CHUNK) chunks.push(fresh.slice(i, i + CHUNK));
    const next: string[] = [];
    await runLimited(chunks, CONCURRENCY, async (chunk) => {
      next.push(...(await perChunk(chunk)));
    });
    round = [...new Set(next)];
  }
}

/**
 * Plans inside a transaction and writes the plan there when it fits one commit, so a concurrent
 * sync's newer writes are never overwritten with older state; a larger plan comes back with its
 * ops for `commitOps` (written in batches), any smaller one with none.
 */
export async function planInTransaction<P extends { ops: Op[] }>(
  db: Firestore,
  plan: (reader: Reader) => Promise<P>,
): Promise<P> {
  return db.runTransaction(async (tx) => {
    const p = await plan(txReader(tx));
    if (p.ops.length > MAX_BATCH) return p;
    for (const op of p.ops) {
      if (op.type === 'set') tx.set(op.ref, op.data);
      else tx.delete(op.ref);
    }
    return { ...p, ops: [] };
  });
}

/** Adds one chunk's counts (`queries`: the queries its plan issued). */
export function addPlanned(
  stats: RefreshStats,
  roots: number,
  planned: Planned,
  queries: number,
): void {
  stats.roots += roots;
  stats.writes += planned.writes;
  stats.deletes += planned.deletes;
  stats.unchanged += planned.unchanged;
  stats.reads += planned.reads;
  stats.queries += queries;
}

export interface Planned {
  ops: Op[];
  /** Series ids reached through an id that turned out to be a stored exception. */
  redirects: string[];
  writes: number;
  deletes: number;
  unchanged: number;
  reads: number;
}

/** Recomputes a chunk of root ids from what `reader` finds stored: the writes and deletes that bring their occurrences in line. */
async function planChunk(
  db: Firestore,
  cal: CalendarRef,
  rootIds: readonly string[],
  reader: Reader,
  window: OccurrenceWindow,
  timeZone: string,
  logger: Logger,
): Promise<Planned> {
  const occurrences = db.collection(paths.occurrences(cal.uid, cal.calendarId));
  const { rootById, redirects, childrenOf, stored, reads } = await readChunk(
    db,
    cal,
    rootIds,
    reader,
  );
  const sources = { rootById, childrenOf };
  const wanted = new Map<string, Record<string, unknown>>();
  for (const id of rootIds) {
    const all = expandRoot(cal, id, sources, { window, timeZone, logger });
    if (!all) {
      // Its stored occurrences stay as they are: out of the comparison.
      for (const [docId, doc] of stored) if (doc.get('eventId') === id) stored.delete(docId);
      continue;
    }
    for (const o of all) wanted.set(encodeDocId(o.occurrenceId), occurrenceDocument(o));
  }
  // What is stored and not wanted was produced before and is not any more.
  const out: Planned = { ops: [], redirects, writes: 0, deletes: 0, unchanged: 0, reads };
  planDifferences(occurrences, wanted, stored.values(), out);
  return out;
}

/**
 * A root's occurrences in the window, or undefined (logged) when its recurrence cannot be
 * expanded: a series calsync cannot expand must not block a sync or a roll, and keeps its stored
 * occurrences as they are.
 */
export function expandRoot(
  cal: CalendarRef,
  id: string,
  sources: Pick<Sources, 'rootById' | 'childrenOf'>,
  o: { window: OccurrenceWindow; timeZone: string; logger: Logger },
): Occurrence[] | undefined {
  try {
    return occurrencesOf(sources.rootById.get(id), sources.childrenOf.get(id) ?? [], o.window, {
      calendarTimeZone: o.timeZone,
    });
  } catch (err) {
    o.logger.warn('occurrences not recomputed: the series cannot be expanded', {
      calendarId: cal.calendarId,
      eventId: id,
      error: err,
    });
    return undefined;
  }
}

/**
 * Adds to `out` the writes and deletes that bring the stored documents `have` in line with
 * `wanted` (by doc id): a wanted document stored with the same content is left alone, a stored
 * one no longer wanted is deleted (snapshots of absent documents are skipped).
 */
export function planDifferences(
  occurrences: CollectionReference,
  wanted: ReadonlyMap<string, Record<string, unknown>>,
  have: Iterable<DocumentSnapshot>,
  out: Planned,
): void {
  const haveById = new Map<string, DocumentSnapshot>();
  for (const snap of have) haveById.set(snap.id, snap);
  for (const [docId, data] of wanted) {
    if (sameDocument(haveById.get(docId)?.data(), data)) out.unchanged++;
    else {
      out.ops.push({ type: 'set', ref: occurrences.doc(docId), data });
      out.writes++;
    }
  }
  for (const [docId, snap] of haveById) {
    if (wanted.has(docId) || !snap.exists) continue;
    out.ops.push({ type: 'delete', ref: snap.ref });
    out.deletes++;
  }
}

/** A chunk's stored state: its roots, their exceptions, and the occurrence docs they produced. */
async function readChunk(
  db: Firestore,
  cal: CalendarRef,
  rootIds: readonly string[],
  reader: Reader,
): Promise<
  Sources & {
    stored: Map<string, DocumentSnapshot>;
    /** Documents read, as billed (a query that finds nothing costs one). */
    reads: number;
  }
> {
  const occurrences = db.collection(paths.occurrences(cal.uid, cal.calendarId));
  const [sources, existing] = await Promise.all([
    readSources(db, cal, rootIds, reader),
    reader.query(occurrences.where('eventId', 'in', [...rootIds])),
  ]);
  const stored = new Map<string, DocumentSnapshot>();
  for (const doc of existing.docs) stored.set(doc.id, doc);
  return { ...sources, stored, reads: sources.reads + Math.max(1, existing.size) };
}

/** What root ids' occurrences are computed from: the roots, and their exceptions by series. */
export interface Sources {
  rootById: Map<string, GoogleEvent>;
  /** Series ids reached through an id that names a stored exception. */
  redirects: string[];
  childrenOf: Map<string, GoogleEvent[]>;
  /** Documents read, as billed (a query that finds nothing costs one). */
  reads: number;
}

/** Reads the stored events the occurrences of `rootIds` are computed from (through `reader`). */
export async function readSources(
  db: Firestore,
  cal: CalendarRef,
  rootIds: readonly string[],
  reader: Reader,
): Promise<Sources> {
  const events = db.collection(paths.events(cal.uid, cal.calendarId));
  const [roots, children] = await Promise.all([
    reader.getAll(rootIds.map((id) => events.doc(encodeDocId(id)))),
    reader.query(events.where('recurringEventId', 'in', [...rootIds])),
  ]);
  const rootById = new Map<string, GoogleEvent>();
  const redirects: string[] = [];
  for (const snap of roots) {
    if (!snap.exists) continue;
    const event = snap.data() as GoogleEvent;
    // An id that names a stored exception: its series is the root to recompute.
    if (event.recurringEventId) redirects.push(event.recurringEventId);
    else if (event.id) rootById.set(event.id, event);
  }
  const childrenOf = new Map<string, GoogleEvent[]>();
  for (const doc of children.docs) {
    const event = doc.data() as GoogleEvent;
    const parent = event.recurringEventId ?? '';
    childrenOf.set(parent, [...(childrenOf.get(parent) ?? []), event]);
  }
  const reads = roots.length + Math.max(1, children.size);
  return { rootById, redirects, childrenOf, reads };
}

/** Writes ops in batches; with a fence, each batch carries its guard (see store/fence.ts). */
export async function commitOps(
  db: Firestore,
  ops: readonly Op[],
  fence?: WriteFence,
): Promise<void> {
  const size = fence ? MAX_FENCED_BATCH : MAX_BATCH;
  for (let i = 0; i < ops.length; i += size) {
    const batch = fence ? fence.batch() : db.batch();
    for (const op of ops.slice(i, i + size)) {
      if (op.type === 'set') batch.set(op.ref, op.data);
      else batch.delete(op.ref);
    }
    if (fence) await commitFenced(fence, batch);
    else await batch.commit();
  }
}
