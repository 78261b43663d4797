// What a sync run writes beside the token: the page's batches (events and occurrences, pipelined), the occurrence view (before the token commit) and the change feed's set.
import type { Firestore } from '@google-cloud/firestore';
import type { GoogleEvent } from '../calendar/api.js';
import { ChangeSet, decodeDocId } from '../changes/collect.js';
import type { Logger } from '../log.js';
import { BatchQueue, type RefusedHandler } from '../store/batches.js';
import type { CalendarRef, EventOp, StoredEventState } from '../store/events.js';
import type { WriteFence } from '../store/fence.js';
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
  fence: WriteFence;
  changes?: ChangeSet;
  /** Whether the mirror held any event when the listing started (a first sync: false). */
  storedBefore?: boolean;
  /** What to do with a batch Firestore refuses (quarantine); without it the refusal fails the run. */
  onRefused?: RefusedHandler;
}

/**
 * One sync run's derived work and its write queue. Event writes (the caller's) and occurrence
 * writes share `queue`: fenced batches of ≤ 499 committed several at a time.
 *
 * An incremental run recomputes, after each page's event writes have landed (and the cascade of
 * deleted series), the occurrences of every id in the page from the mirror — changed or not, so a
 * run repeated after a crash repairs what the crashed run left half done. A full run (its listing
 * holds the whole calendar) builds the occurrences from the items themselves, no read-back, and
 * reconciles what the items cannot show in `finish` (see full.ts). A first sync reads nothing
 * before planning a page, so its batches stay in flight across pages; `flush`/`finish` land them
 * before the token commit, `settle` on an error path. `changes` is published after the commit.
 */
export class SyncPass {
  readonly changes: ChangeSet;
  readonly occurrences: RefreshStats = emptyStats();
  readonly queue: BatchQueue;
  private readonly full: boolean;
  private readonly fence: WriteFence;
  private fullRun: Promise<FullRun> | undefined;

  constructor(
    private readonly db: Firestore,
    private readonly cal: CalendarRef,
    private readonly window: OccurrenceWindow,
    private readonly logger: Logger,
    private readonly options: SyncPassOptions,
  ) {
    this.full = options.full;
    this.fence = options.fence;
    this.changes = options.changes ?? new ChangeSet();
    this.queue = new BatchQueue(db, {
      fence: options.fence,
      ...(options.onRefused ? { onRefused: options.onRefused } : {}),
    });
    if (this.full) void this.startFull().catch(() => undefined); // its one query overlaps page 1
  }

  /**
   * A page whose event ops the caller has queued (and whose cascade it has applied): records its
   * changes and maintains its occurrences. Resolves once all of it is in Firestore, except on a
   * first sync (see the class comment).
   */
  async page(
    items: readonly GoogleEvent[],
    ops: readonly EventOp[],
    stored: ReadonlyMap<string, StoredEventState>,
    cascadeMasters: readonly string[],
    timeZone: string,
  ): Promise<void> {
    this.changes.recordPage(items, ops, stored, encodeDocId);
    if (this.full) {
      const run = await this.startFull();
      await run.page(items, ops, stored, timeZone);
      run.cascade(cascadeMasters);
      if (!this.pipelined) await this.queue.flush();
      return;
    }
    await this.queue.flush();
    const parentOf = (id: string) => stored.get(encodeDocId(id))?.recurringEventId;
    await this.refresh([...rootIdsOf(items, parentOf), ...cascadeMasters], timeZone);
  }

  /** Event documents deleted without an item of their own: the cascade of a deleted series. */
  cascaded(docIds: readonly string[]): void {
    this.changes.recordDeleted(docIds);
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
    await this.queue.flush();
    if (!this.full) return;
    const run = await this.startFull();
    await run.finish(timeZone);
    addStats(this.occurrences, run.stats);
  }

  /** Lands every queued write (before a read that must see them, e.g. a cascade's query). */
  async flush(): Promise<void> {
    await this.queue.flush();
  }

  /** Error paths: waits until no write of this run is in flight any more. */
  async settle(): Promise<void> {
    await this.queue.settle();
  }

  /**
   * The calendar's event counts when this run can tell them without a query: a first sync
   * (nothing was stored before, so what it wrote is all there is). Undefined otherwise.
   */
  eventCounts(
    quarantined: number,
  ): { events: number; tombstones: number; quarantined: number } | undefined {
    if (!this.pipelined) return undefined;
    const tally = this.changes.tally();
    return tally && { events: tally.live, tombstones: tally.tombstones, quarantined };
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
        fence: this.fence,
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
      fence: this.fence,
    });
    addStats(this.occurrences, stats);
  }
}
