// What a sync run derives beside the event documents: occurrences (before the token commit) and the change feed's set.
import type { Firestore } from '@google-cloud/firestore';
import type { GoogleEvent } from '../calendar/api.js';
import { ChangeSet, decodeDocId } from '../changes/collect.js';
import type { Logger } from '../log.js';
import type { CalendarRef, EventOp, StoredEventState } from '../store/events.js';
import type { WriteFence } from '../store/fence.js';
import { encodeDocId } from '../store/schema.js';
import { DEFAULT_WINDOW, occurrenceWindow, type OccurrenceWindow } from './model.js';
import { rebuildOccurrences } from './rebuild.js';
import { refreshOccurrences, rootIdsOf } from './store.js';

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

/**
 * One sync run's derived work, recomputed from the stored state so that a run repeated after a
 * crash repairs whatever the crashed run left half done. An incremental run recomputes, after each
 * page's event writes (and the cascade of deleted series), the occurrences of every id in the page
 * — changed or not. A full run recomputes the whole calendar once, after its last page and sweep
 * (`finish`): cheaper than per-id queries over thousands of events. Both happen before the token
 * commit; `changes` is published after it.
 */
export class SyncPass {
  readonly changes: ChangeSet;
  readonly occurrences = { writes: 0, deletes: 0 };
  private readonly full: boolean;
  private readonly fence: WriteFence;

  constructor(
    private readonly db: Firestore,
    private readonly cal: CalendarRef,
    private readonly window: OccurrenceWindow,
    private readonly logger: Logger,
    options: { full: boolean; fence: WriteFence; changes?: ChangeSet },
  ) {
    this.full = options.full;
    this.fence = options.fence;
    this.changes = options.changes ?? new ChangeSet();
  }

  async page(
    items: readonly GoogleEvent[],
    ops: readonly EventOp[],
    stored: ReadonlyMap<string, StoredEventState>,
    cascadeMasters: readonly string[],
    timeZone: string,
  ): Promise<void> {
    this.changes.recordPage(items, ops, stored, encodeDocId);
    if (this.full) return;
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

  /** After the last page (and the sweep): a full run reconciles every occurrence of the calendar. */
  async finish(timeZone: string): Promise<void> {
    if (!this.full) return;
    const stats = await rebuildOccurrences(this.db, this.cal, {
      window: this.window,
      calendarTimeZone: timeZone,
      logger: this.logger,
      fence: this.fence,
    });
    this.occurrences.writes += stats.writes;
    this.occurrences.deletes += stats.deletes;
  }

  private async refresh(ids: readonly string[], timeZone: string): Promise<void> {
    if (ids.length === 0) return;
    const stats = await refreshOccurrences(this.db, this.cal, ids, {
      window: this.window,
      calendarTimeZone: timeZone,
      logger: this.logger,
      fence: this.fence,
    });
    this.occurrences.writes += stats.writes;
    this.occurrences.deletes += stats.deletes;
  }
}
