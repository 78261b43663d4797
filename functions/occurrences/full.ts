// A full sync's occurrence view: built from the listed items (no read-back), compared by key on a resync, stale documents found by one ids-only scan.
import { FieldPath, type DocumentSnapshot, type Firestore } from '@google-cloud/firestore';
import type { GoogleEvent } from '../calendar/api.js';
import type { Logger } from '../log.js';
import { runLimited } from '../run-limited.js';
import type { BatchQueue } from '../store/batches.js';
import type { CalendarRef, EventOp, StoredEventState } from '../store/events.js';
import type { WriteFence } from '../store/fence.js';
import { encodeDocId, paths } from '../store/schema.js';
import { occurrenceDocument, sameDocument } from './document.js';
import { expandSingle, occurrencesOf } from './expand.js';
import type { Occurrence, OccurrenceWindow } from './model.js';
import { addStats, emptyStats, refreshOccurrences, rootIdsOf, type RefreshStats } from './store.js';

/** Series items (masters, exceptions, tombstones) held until the last page; beyond, read back. */
export const MAX_BUFFERED_SERIES_EVENTS = 5000;
/** Occurrence ids of buffered series remembered for the stale scan of a resync; beyond, read back. */
const MAX_REMEMBERED_IDS = 100_000;
/** Occurrence documents compared per keyed read, and reads at once. */
const READ_CHUNK = 300;
const READ_CONCURRENCY = 4;
const SCAN_PAGE = 1000;
/** Series expanded (and written) at a time in `finish`. */
const SERIES_CHUNK = 100;

/** What the listing showed for a root id without a recurringEventId. */
type RootKind = 'single' | 'outside' | 'master';

interface SeriesItems {
  master: GoogleEvent | undefined;
  /** Exceptions and tombstones by document id. */
  exceptions: Map<string, GoogleEvent>;
}

export interface FullRunOptions {
  window: OccurrenceWindow;
  logger: Logger;
  /** The run's write queue (fenced), shared with the event writes. */
  queue: BatchQueue;
  fence: WriteFence;
  /**
   * Nothing was stored before this sync (no event, no occurrence): occurrences are written blind,
   * with no comparison and no stale scan.
   */
  fresh: boolean;
}

/** The version the item carries is the stored one (planPage skipped it as unchanged). */
function storedAsListed(item: GoogleEvent, stored: StoredEventState | undefined): boolean {
  return !!stored && !!item.etag && stored.etag === item.etag;
}

/**
 * The occurrence view of one full sync run. Singles are written page by page from the items
 * (Google's full list holds every event of the calendar), series once their items are all in
 * (an exception may come pages before its master). Whatever the items cannot show with certainty
 * — an id listed twice, a deletion, an item older than the mirror, a cascade, a buffer overflow —
 * is recomputed from the mirror at the end, exactly as an incremental sync does it.
 */
export class FullRun {
  readonly stats: RefreshStats = emptyStats();
  private readonly kinds = new Map<string, RootKind>();
  private readonly series = new Map<string, SeriesItems>();
  private buffered = 0;
  /** Roots recomputed from the mirror in `finish`. */
  private readonly fromStore = new Set<string>();
  /** Roots whose series cannot be expanded: their occurrences stay as they are. */
  private readonly keepAll = new Set<string>();
  /** Buffered series → the occurrence document ids they produce (resync: the stale scan). */
  private readonly produced = new Map<string, Set<string>>();
  private remembered = 0;
  private readonly listed = new Set<string>();

  constructor(
    private readonly db: Firestore,
    private readonly cal: CalendarRef,
    private readonly options: FullRunOptions,
  ) {}

  private get occurrences() {
    return this.db.collection(paths.occurrences(this.cal.uid, this.cal.calendarId));
  }

  /** One written page: the items, the ops planned for them, and what the mirror held before. */
  async page(
    items: readonly GoogleEvent[],
    ops: readonly EventOp[],
    stored: ReadonlyMap<string, StoredEventState>,
    timeZone: string,
  ): Promise<void> {
    const opOf = new Map(ops.map((op) => [op.docId, op]));
    const singles: Occurrence[] = [];
    for (const item of items) {
      if (!item.id) continue;
      const docId = encodeDocId(item.id);
      const op = opOf.get(docId);
      const again = this.listed.has(docId);
      this.listed.add(docId);
      // A quarantine stub (an item planning could not handle) is expanded from the store, as before.
      const event =
        op?.type === 'set'
          ? isStub(op.event)
            ? undefined
            : op.event
          : op === undefined && storedAsListed(item, stored.get(docId))
            ? item
            : undefined;
      if (again || !event) {
        const parentOf = (id: string) => stored.get(encodeDocId(id))?.recurringEventId;
        for (const root of rootIdsOf([item], parentOf)) this.readBack(root);
        continue;
      }
      const single = this.take(docId, event, timeZone);
      if (single) singles.push(single);
    }
    await this.put(singles);
  }

  /** Series masters cancelled in a page (their exceptions were deleted from the mirror). */
  cascade(masterIds: readonly string[]): void {
    for (const id of masterIds) this.readBack(id);
  }

  /** After the last page and the sweep: series, roots read back, and (resync) stale documents. */
  async finish(timeZone: string): Promise<void> {
    await this.expandSeries(timeZone);
    if (this.fromStore.size > 0) {
      const queue = this.options.queue;
      await queue.flush();
      addStats(
        this.stats,
        await refreshOccurrences(this.db, this.cal, this.fromStore, {
          window: this.options.window,
          calendarTimeZone: timeZone,
          logger: this.options.logger,
          fence: this.options.fence,
        }),
      );
    }
    if (!this.options.fresh) await this.deleteStale();
    await this.options.queue.flush();
  }

  /** Files one listed event; returns the occurrence of a single event, if it has one. */
  private take(docId: string, event: GoogleEvent, timeZone: string): Occurrence | undefined {
    const id = event.id!;
    if (event.recurringEventId) {
      this.buffer(event.recurringEventId, docId, event);
      return undefined;
    }
    if (event.recurrence && event.recurrence.length > 0) {
      this.kinds.set(id, 'master');
      this.buffer(id, undefined, event);
      return undefined;
    }
    const o = expandSingle(event, this.options.window, { calendarTimeZone: timeZone })[0];
    this.kinds.set(id, o ? 'single' : 'outside');
    return o;
  }

  private buffer(seriesId: string, exceptionDocId: string | undefined, event: GoogleEvent): void {
    if (this.fromStore.has(seriesId)) return;
    if (this.buffered >= MAX_BUFFERED_SERIES_EVENTS) {
      this.readBack(seriesId);
      return;
    }
    let entry = this.series.get(seriesId);
    if (!entry) {
      entry = { master: undefined, exceptions: new Map() };
      this.series.set(seriesId, entry);
    }
    if (exceptionDocId === undefined) entry.master = event;
    else entry.exceptions.set(exceptionDocId, event);
    this.buffered++;
  }

  private readBack(root: string): void {
    this.fromStore.add(root);
    const entry = this.series.get(root);
    if (!entry) return;
    this.buffered -= entry.exceptions.size + (entry.master ? 1 : 0);
    this.series.delete(root);
  }

  private async expandSeries(timeZone: string): Promise<void> {
    const ids = [...this.series.keys()];
    for (let i = 0; i < ids.length; i += SERIES_CHUNK) {
      const wanted: Occurrence[] = [];
      for (const id of ids.slice(i, i + SERIES_CHUNK)) {
        const occurrences = this.seriesOccurrences(id, timeZone);
        if (occurrences) wanted.push(...occurrences);
      }
      await this.put(wanted);
    }
    this.series.clear();
    this.buffered = 0;
  }

  /** A buffered series' occurrences, or undefined when it shows none of its own (or is read back). */
  private seriesOccurrences(id: string, timeZone: string): Occurrence[] | undefined {
    const entry = this.series.get(id)!;
    const kind = this.kinds.get(id);
    // A single event with the series' id: Google drops such exceptions; the single shows alone.
    if (kind === 'single' || kind === 'outside') return undefined;
    let wanted: Occurrence[];
    try {
      wanted = occurrencesOf(entry.master, [...entry.exceptions.values()], this.options.window, {
        calendarTimeZone: timeZone,
      });
    } catch (err) {
      this.options.logger.warn('occurrences not recomputed: the series cannot be expanded', {
        calendarId: this.cal.calendarId,
        eventId: id,
        error: err,
      });
      this.keepAll.add(id);
      return undefined;
    }
    if (!this.options.fresh) {
      if (this.remembered + wanted.length > MAX_REMEMBERED_IDS) {
        this.readBack(id);
        return undefined;
      }
      this.produced.set(id, new Set(wanted.map((o) => encodeDocId(o.occurrenceId))));
      this.remembered += wanted.length;
    }
    return wanted;
  }

  /** Writes these occurrences: blind when nothing was stored, else only those that differ. */
  private async put(wanted: readonly Occurrence[]): Promise<void> {
    const docs = wanted.map((o) => ({
      ref: this.occurrences.doc(encodeDocId(o.occurrenceId)),
      data: occurrenceDocument(o),
    }));
    if (this.options.fresh) {
      for (const d of docs) await this.options.queue.set(d.ref, d.data);
      this.stats.writes += docs.length;
      return;
    }
    const chunks: (typeof docs)[] = [];
    for (let i = 0; i < docs.length; i += READ_CHUNK) chunks.push(docs.slice(i, i + READ_CHUNK));
    await runLimited(chunks, READ_CONCURRENCY, async (chunk) => {
      const have = await this.db.getAll(...chunk.map((d) => d.ref));
      this.stats.reads += chunk.length;
      for (const [i, d] of chunk.entries()) {
        const snap = have[i]!;
        if (snap.exists && sameDocument(snap.data(), d.data)) {
          this.stats.unchanged++;
          continue;
        }
        await this.options.queue.set(d.ref, d.data);
        this.stats.writes++;
      }
    });
  }

  /** One ids-only pass over the occurrence documents: what no listed event produces goes. */
  private async deleteStale(): Promise<void> {
    let after: DocumentSnapshot | undefined;
    for (;;) {
      let query = this.occurrences
        .select('eventId')
        .orderBy(FieldPath.documentId())
        .limit(SCAN_PAGE);
      if (after) query = query.startAfter(after);
      const snap = await query.get();
      this.stats.reads += Math.max(1, snap.size);
      for (const doc of snap.docs) {
        if (this.keeps(doc.get('eventId'), doc.id)) continue;
        await this.options.queue.delete(doc.ref);
        this.stats.deletes++;
      }
      if (snap.size < SCAN_PAGE) return;
      after = snap.docs[snap.docs.length - 1];
    }
  }

  private keeps(eventId: unknown, docId: string): boolean {
    if (typeof eventId !== 'string' || eventId === '') return false;
    if (this.fromStore.has(eventId) || this.keepAll.has(eventId)) return true;
    const kind = this.kinds.get(eventId);
    if (kind === 'single') return docId === encodeDocId(eventId);
    if (kind === 'outside') return false;
    return this.produced.get(eventId)?.has(docId) ?? false;
  }
}

function isStub(event: GoogleEvent): boolean {
  return (event as { calsync?: unknown }).calsync !== undefined;
}
