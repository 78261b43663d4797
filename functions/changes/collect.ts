// The change feed's bookkeeping for one sync: what each written page really changed, merged per event.
import type { GoogleEvent } from '../calendar/api.js';
import type { EventOp, StoredEventState } from '../store/events.js';

export type ChangeKind = 'created' | 'updated' | 'deleted';

/** One change feed message (Pub/Sub data, JSON). */
export interface ChangeMessage {
  v: 1;
  uid: string;
  calendarId: string;
  eventId: string;
  change: ChangeKind;
  /** The event's `updated` (RFC 3339) as Google sent it; null when a deletion did not carry one. */
  updated: string | null;
}

interface Entry {
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
export class ChangeSet {
  private readonly entries = new Map<string, Entry>();

  /** A page's planned ops, with the stored states read before planning it and the page's items. */
  recordPage(
    items: readonly GoogleEvent[],
    ops: readonly EventOp[],
    stored: ReadonlyMap<string, StoredEventState>,
    encode: (id: string) => string,
  ): void {
    const itemByDocId = new Map<string, GoogleEvent>();
    for (const item of items) if (item.id) itemByDocId.set(encode(item.id), item);
    for (const op of ops) {
      const had = stored.get(op.docId);
      const before = { live: had !== undefined && had.status !== 'cancelled', exists: !!had };
      if (op.type === 'set') {
        const now = op.event.status === 'cancelled' ? 'tombstone' : 'live';
        const eventId = op.event.id ?? decodeDocId(op.docId);
        this.note(op.docId, eventId, before, now, op.event.updated);
      } else {
        const item = itemByDocId.get(op.docId);
        this.note(op.docId, item?.id ?? decodeDocId(op.docId), before, 'gone', item?.updated);
      }
    }
  }

  /** Documents deleted without an item of their own (a deleted series' exceptions, the full sync's sweep). */
  recordDeleted(docIds: readonly string[]): void {
    for (const docId of docIds) {
      this.note(docId, decodeDocId(docId), { live: true, exists: true }, 'gone', undefined);
    }
  }

  private note(
    docId: string,
    eventId: string,
    before: { live: boolean; exists: boolean },
    now: Entry['now'],
    updated: string | null | undefined,
  ): void {
    const entry = this.entries.get(docId);
    if (entry) {
      entry.now = now;
      entry.updated = updated ?? entry.updated;
    } else {
      this.entries.set(docId, {
        eventId,
        beforeLive: before.live,
        beforeExists: before.exists,
        now,
        updated: updated ?? null,
      });
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** Documents this run left live and as tombstones (a first sync's counts: nothing was there before). */
  tally(): { live: number; tombstones: number } {
    let live = 0;
    let tombstones = 0;
    for (const e of this.entries.values()) {
      if (e.now === 'live') live++;
      else if (e.now === 'tombstone') tombstones++;
    }
    return { live, tombstones };
  }

  /** The messages to publish, in the order the changes were first seen. */
  messages(uid: string, calendarId: string): ChangeMessage[] {
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
        out.push({ v: 1, uid, calendarId, eventId: e.eventId, change, updated: e.updated });
    }
    return out;
  }
}
