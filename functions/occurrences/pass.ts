// What a sync run writes for each page beside the token: event documents, the occurrence view (before the token commit) and the change feed's set.
import type { Firestore } from '@google-cloud/firestore';
import type { GoogleEvent } from '../calendar/api.js';
import { ChangeSet, decodeDocId } from '../changes/collect.js';
import type { Logger } from '../log.js';
import { BatchQueue, type NewBatch } from '../store/batches.js';
import {
  deleteExceptionsOf,
  writeEventOps,
  type CalendarRef,
  type EventOp,
  type StoredEventState,
  type WriteStrategy,
} from '../store/events.js';
import { encodeDocId, paths } from '../store/schema.js';
import { FullRun } from './full.js';
import { DEFAULT_WINDOW, occurrenceWindow, type OccurrenceWindow } from './model.js';
import { addStats, emptyStats, refreshOccurrences, rootIdsOf, type RefreshStats } from './store.js';

export interface OccurrenceSettings {
  occurrenceDaysBack?: number;
  occurrenceDaysAhead?: number;
}

/** The window for a sync started at `now` under these settings (defaults 30 / 365 days). */
export function windowFor(now: number, settings: OccurrenceSettings): OccurrenceWindow {
  return occurrenceWindow(now, {
    daysBack: settings.occurrenceDaysBack ?? DEFAULT_WINDOW.daysBack,
    daysAhead: settings.occurrenceDaysAhead ?? DEFAULT_WINDOW.daysAhead,
  });
}

export interface SyncPassOptions {
  full: boolean;
  changes?: ChangeSet;
  /** Whether the mirror held any event when the run started (a first sync: false). */
  storedBefore?: boolean;
  strategy?: WriteStrategy;
  /** Where write batches come from (default db.batch()). */
  newBatch?: NewBatch;
}

/** A planned page: the ops and the series masters cancelled in it (sync/apply.ts planPage). */
export interface PlannedPage {
  ops: readonly EventOp[];
  cascadeMasters: readonly string[];
}

/**
 * One sync run's writes. An incremental run writes a page's events, then recomputes from the
 * mirror the occurrences of every id in the page — changed or not, so a run repeated after a crash
 * repairs what the crashed run left half done. A full run (the listing holds the whole calendar)
 * builds the occurrences from the items themselves, pipelined with the event writes in the same
 * batches, and reconciles what the items cannot show at the end (`finish`). Both happen before
 * the token commit; `changes` is published after it.
 */
export class SyncPass {
  readonly changes: ChangeSet;
  readonly occurrences: RefreshStats = emptyStats();
  private readonly full: boolean;
  private readonly strategy: WriteStrategy;
  private readonly queue: BatchQueue;
  private readonly newBatch: NewBatch | undefined;
  private fullRun: Promise<FullRun> | undefined;

  constructor(
    private readonly db: Firestore,
    private readonly cal: CalendarRef,
    private readonly window: OccurrenceWindow,
    private readonly logger: Logger,
    private readonly options: SyncPassOptions,
  ) {
    this.full = options.full;
    this.changes = options.changes ?? new ChangeSet();
    this.strategy = options.strategy ?? 'batch';
    this.newBatch = options.newBatch;
    this.queue = new BatchQueue(db, options.newBatch ? { newBatch: options.newBatch } : {});
    if (this.full) void this.startFull().catch(() => undefined); // its one query overlaps page 1
  }

  /**
   * Writes one planned page: its events, the cascade of cancelled series, its occurrences.
   * Resolves once all of it is in Firestore — except on a first sync (nothing stored, nothing read
   * before planning the next page), whose batches stay in flight while the next page is planned
   * and fetched; `finish` lands them before the token commit, `settle` on an error path.
   */
  async apply(
    items: readonly GoogleEvent[],
    plan: PlannedPage,
    stored: ReadonlyMap<string, StoredEventState>,
    timeZone: string,
  ): Promise<{ writes: number; deletes: number }> {
    try {
      return await this.write(items, plan, stored, timeZone);
    } catch (err) {
      await this.queue.settle(); // nothing of this run may land after the caller moved on
      throw err;
    }
  }

  private async write(
    items: readonly GoogleEvent[],
    plan: PlannedPage,
    stored: ReadonlyMap<string, StoredEventState>,
    timeZone: string,
  ): Promise<{ writes: number; deletes: number }> {
    const run = this.full ? await this.startFull() : undefined;
    // Events and (full runs) occurrences share the queue's batches, committed concurrently.
    const [events, occurrences] = await Promise.allSettled([
      writeEventOps(this.db, this.cal, plan.ops, this.strategy, this.queue),
      run?.page(items, plan.ops, stored, timeZone),
    ]);
    if (events.status === 'rejected') throw events.reason;
    if (occurrences.status === 'rejected') throw occurrences.reason;
    this.changes.recordPage(items, plan.ops, stored, encodeDocId);
    if (!this.pipelined || plan.cascadeMasters.length > 0) await this.queue.flush();
    const cascaded = await deleteExceptionsOf(
      this.db,
      this.cal,
      plan.cascadeMasters,
      this.strategy,
      (docIds) => this.changes.recordDeleted(docIds),
    );
    if (run) run.cascade(plan.cascadeMasters);
    else await this.refresh([...rootIdsOf(items), ...plan.cascadeMasters], timeZone);
    return { writes: events.value.writes, deletes: events.value.deletes + cascaded };
  }

  /** Event documents the full sync's sweep deleted. */
  async deleted(docIds: readonly string[], timeZone: string): Promise<void> {
    this.changes.recordDeleted(docIds);
    if (!this.full) {
      await this.refresh(rootIdsOf(docIds.map((id) => ({ id: decodeDocId(id) }))), timeZone);
    }
  }

  /** After the last page (and the sweep): a full run reconciles what its items could not show. */
  async finish(timeZone: string): Promise<void> {
    if (!this.full) return;
    const run = await this.startFull();
    await this.queue.flush();
    await run.finish(timeZone);
    addStats(this.occurrences, run.stats);
  }

  /**
   * The calendar's event counts when this run can tell them without a query: a first sync
   * (nothing was stored before, so what it wrote is all there is). Undefined otherwise.
   */
  eventCounts(): { events: number; tombstones: number } | undefined {
    if (!this.pipelined) return undefined;
    const { live, tombstones } = this.changes.tally();
    return { events: live, tombstones };
  }

  /** Error paths: waits until no write of this run is in flight any more. */
  async settle(): Promise<void> {
    await this.queue.settle();
  }

  /** A first full sync reads nothing before planning a page: its writes need not land page by page. */
  private get pipelined(): boolean {
    return this.full && this.options.storedBefore === false;
  }

  private startFull(): Promise<FullRun> {
    this.fullRun ??= (async () => {
      const fresh = this.options.storedBefore === false && !(await this.hasOccurrences());
      return new FullRun(this.db, this.cal, {
        window: this.window,
        logger: this.logger,
        queue: this.queue,
        fresh,
      });
    })();
    return this.fullRun;
  }

  private async hasOccurrences(): Promise<boolean> {
    const col = this.db.collection(paths.occurrences(this.cal.uid, this.cal.calendarId));
    this.occurrences.reads++; // billed even when empty
    return !(await col.select().limit(1).get()).empty;
  }

  private async refresh(ids: readonly string[], timeZone: string): Promise<void> {
    if (ids.length === 0) return;
    const stats = await refreshOccurrences(this.db, this.cal, ids, {
      window: this.window,
      calendarTimeZone: timeZone,
      logger: this.logger,
      ...(this.newBatch ? { newBatch: this.newBatch } : {}),
    });
    addStats(this.occurrences, stats);
  }
}
