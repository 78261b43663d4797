// The change feed's bookkeeping for one sync: what each written page really changed, merged per event.
import type { GoogleEvent } from '../calendar/api.js';
import type { ChangeKind, ChangeMessage } from '../read-models/types.js';
import type { EventOp, StoredEventState } from '../store/events.js';

export type { ChangeKind, ChangeMessage };

/** One event's change as a run saw it (also what the outbox stores). */
export interface ChangeEntry {
  docId: string;
  eventId: string;
  /** The mirror held a live document for it before this run. */
  beforeLive: boolean;
  /** The mirror held any document for it (live or tombstone) before this run. */
  beforeExists: boolean;
  /** What the mirror holds now: a live event, a tombstone (cancelled instance), or nothing. */
  now: 'live' | 'tombstone' | 'gone';
  updated: string | null;
}

/** The reverse of schema.ts encodeDocId (`~` + base64url for ids that cannot be document ids). */
export function decodeDocId(docId: string): string {
  return docId.startsWith('~') ? Buffer.from(docId.slice(1), 'base64url').toString('utf8') : docId;
}

/**
 * Collects the changes of one sync run. Only writes the worker really made count (the planner
 * already skipped unchanged etags), and an event touched twice in one run is announced once,
 * from its state before the run and after it: created then deleted is nothing. A tombstone
 * written for an instance of a series announces that instance as deleted.
 */
/** A page's planned ops as change entries (pure: the outbox stores them before the page is written). */
export function pageEntries(
  items: readonly GoogleEvent[],
  ops: readonly EventOp[],
  stored: ReadonlyMap<string, StoredEventState>,
  encode: (id: string) => string,
): ChangeEntry[] {
  const itemByDocId = new Map<string, GoogleEvent>();
  for (const item of items) if (item.id) itemByDocId.set(encode(item.id), item);
  return ops.map((op) => {
    const had = stored.get(op.docId);
    const before = {
      beforeLive: had !== undefined && had.status !== 'cancelled',
      beforeExists: !!had,
    };
    if (op.type === 'set') {
      const now = op.event.status === 'cancelled' ? ('tombstone' as const) : ('live' as const);
      const eventId = op.event.id ?? decodeDocId(op.docId);
      return { docId: op.docId, eventId, ...before, now, updated: op.event.updated ?? null };
    }
    const item = itemByDocId.get(op.docId);
    const eventId = item?.id ?? decodeDocId(op.docId);
    return {
      docId: op.docId,
      eventId,
      ...before,
      now: 'gone' as const,
      updated: item?.updated ?? null,
    };
  });
}

/** Documents deleted without an item of their own (a deleted series' exceptions, the full sync's sweep). */
export function deletedEntries(docIds: readonly string[]): ChangeEntry[] {
  return docIds.map((docId) => ({
    docId,
    eventId: decodeDocId(docId),
    beforeLive: true,
    beforeExists: true,
    now: 'gone' as const,
    updated: null,
  }));
}

export interface ChangeSetOptions {
  /**
   * Keep every entry for the change feed (default). Without a feed nothing is announced: only the
   * live and tombstone counts are kept, so memory does not grow with the calendar.
   */
  retain?: boolean;
}

export class ChangeSet {
  private entries = new Map<string, ChangeEntry>();
  private readonly retain: boolean;
  /** Count-only mode: what the recorded entries changed, and whether that is exact. */
  private readonly counted = { live: 0, tombstones: 0, exact: true };

  constructor(options: ChangeSetOptions = {}) {
    this.retain = options.retain ?? true;
  }

  /** A page's planned ops, with the stored states read before planning it and the page's items. */
  recordPage(
    items: readonly GoogleEvent[],
    ops: readonly EventOp[],
    stored: ReadonlyMap<string, StoredEventState>,
    encode: (id: string) => string,
  ): void {
    this.record(pageEntries(items, ops, stored, encode));
  }

  /** Documents deleted without an item of their own (a deleted series' exceptions, the full sync's sweep). */
  recordDeleted(docIds: readonly string[]): void {
    // Their entries assume a live document before; a tombstone among them would skew the counts.
    if (!this.retain && docIds.length > 0) this.counted.exact = false;
    this.record(deletedEntries(docIds));
  }

  /** Entries in the order they happened: an event seen again keeps its first `before`, takes the last `now`. */
  record(entries: readonly ChangeEntry[]): void {
    if (!this.retain) {
      for (const e of entries) this.count(e);
      return;
    }
    for (const e of entries) {
      const entry = this.entries.get(e.docId);
      if (entry) {
        entry.now = e.now;
        entry.updated = e.updated ?? entry.updated;
      } else {
        this.entries.set(e.docId, { ...e });
      }
    }
  }

  /** Count-only mode: each entry moves the counts from its `before` to its `now`. */
  private count(e: ChangeEntry): void {
    const c = this.counted;
    c.live += (e.now === 'live' ? 1 : 0) - (e.beforeLive ? 1 : 0);
    c.tombstones += (e.now === 'tombstone' ? 1 : 0) - (e.beforeExists && !e.beforeLive ? 1 : 0);
  }

  /** Entries that happened before everything recorded so far (a crashed run's outbox). */
  prepend(entries: readonly ChangeEntry[]): void {
    if (entries.length === 0) return;
    const later = [...this.entries.values()];
    this.entries = new Map();
    this.record(entries);
    this.record(later);
  }

  /** Events recorded (0 in count-only mode: nothing to announce). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * How many documents this run left live and as tombstones, net of what they were before (a first
   * sync's counts: nothing was there before). Undefined when count-only mode cannot tell exactly.
   */
  tally(): { live: number; tombstones: number } | undefined {
    if (!this.retain) {
      const { live, tombstones, exact } = this.counted;
      return exact ? { live, tombstones } : undefined;
    }
    let live = 0;
    let tombstones = 0;
    for (const e of this.entries.values()) {
      if (e.now === 'live') live++;
      else if (e.now === 'tombstone') tombstones++;
    }
    return { live, tombstones };
  }

  /** The messages to publish, in the order the changes were first seen. */
  messages(uid: string, calendarId: string, fence: number): ChangeMessage[] {
    const out: ChangeMessage[] = [];
    for (const e of this.entries.values()) {
      const change: ChangeKind | undefined =
        e.now === 'live'
          ? e.beforeLive
            ? 'updated'
            : 'created'
          : e.now === 'tombstone' || e.beforeExists
            ? 'deleted'
            : undefined;
      if (change)
        out.push({ v: 1, uid, calendarId, eventId: e.eventId, change, updated: e.updated, fence });
    }
    return out;
  }
}
