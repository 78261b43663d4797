// What a sync run derives beside the event documents: occurrences (before the token commit) and the change feed's set.
import type { Firestore } from '@google-cloud/firestore';
import type { GoogleEvent } from '../calendar/api.js';
import { ChangeSet, decodeDocId } from '../changes/collect.js';
import type { Logger } from '../log.js';
import type { CalendarRef, EventOp, StoredEventState } from '../store/events.js';
import { encodeDocId } from '../store/schema.js';
import { DEFAULT_WINDOW, occurrenceWindow, type OccurrenceWindow } from './model.js';
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
 * One sync run's derived work. The worker calls `page` after each page's event writes (and the
 * cascade of deleted series), `deleted` for documents its full-sync sweep removed; both recompute
 * the occurrences of every id involved from the stored state, so a run repeated after a crash
 * repairs whatever the crashed run left half done. `changes` is published after the commit.
 */
export class SyncPass {
  readonly changes = new ChangeSet();
  readonly occurrences = { writes: 0, deletes: 0 };

  constructor(
    private readonly db: Firestore,
    private readonly cal: CalendarRef,
    private readonly window: OccurrenceWindow,
    private readonly logger: Logger,
  ) {}

  async page(
    items: readonly GoogleEvent[],
    ops: readonly EventOp[],
    stored: ReadonlyMap<string, StoredEventState>,
    cascadeMasters: readonly string[],
    timeZone: string,
  ): Promise<void> {
    this.changes.recordPage(items, ops, stored, encodeDocId);
    await this.refresh([...rootIdsOf(items), ...cascadeMasters], timeZone);
  }

  /** Event documents deleted without an item of their own: the cascade of a deleted series. */
  cascaded(docIds: readonly string[]): void {
    this.changes.recordDeleted(docIds);
  }

  /** Event documents the full sync's sweep deleted. */
  async deleted(docIds: readonly string[], timeZone: string): Promise<void> {
    this.changes.recordDeleted(docIds);
    await this.refresh(rootIdsOf(docIds.map((id) => ({ id: decodeDocId(id) }))), timeZone);
  }

  private async refresh(ids: readonly string[], timeZone: string): Promise<void> {
    if (ids.length === 0) return;
    const stats = await refreshOccurrences(this.db, this.cal, ids, {
      window: this.window,
      calendarTimeZone: timeZone,
      logger: this.logger,
    });
    this.occurrences.writes += stats.writes;
    this.occurrences.deletes += stats.deletes;
  }
}
