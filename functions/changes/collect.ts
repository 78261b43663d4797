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
  /** Live in the mirror before this sync (tombstones are not live). */
  before: boolean;
  /** Live in the mirror now. */
  now: boolean;
  updated: string | null;
}

/** The reverse of schema.ts encodeDocId (`~` + base64url for ids that cannot be document ids). */
export function decodeDocId(docId: string): string {
  return docId.startsWith('~') ? Buffer.from(docId.slice(1), 'base64url').toString('utf8') : docId;
}

const live = (status: string | null | undefined) => status !== 'cancelled';

/**
 * Collects the changes of one sync run. Only writes the worker really made count (the planner
 * already skipped unchanged etags), and an event touched twice in one run is announced once,
 * by comparing its state before the run with its state after: created then deleted is nothing.
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
      const item = itemByDocId.get(op.docId);
      const had = stored.get(op.docId);
      const before = had !== undefined && live(had.status);
      if (op.type === 'set') {
        this.note(
          op.docId,
          op.event.id ?? decodeDocId(op.docId),
          before,
          live(op.event.status),
          op.event.updated,
        );
      } else {
        this.note(op.docId, item?.id ?? decodeDocId(op.docId), before, false, item?.updated);
      }
    }
  }

  /** Documents deleted without an item of their own (a deleted series' exceptions, the full sync's sweep). */
  recordDeleted(docIds: readonly string[]): void {
    for (const docId of docIds) this.note(docId, decodeDocId(docId), true, false, undefined);
  }

  private note(
    docId: string,
    eventId: string,
    before: boolean,
    now: boolean,
    updated: string | null | undefined,
  ): void {
    const entry = this.entries.get(docId);
    if (entry) {
      entry.now = now;
      entry.updated = updated ?? entry.updated;
    } else {
      this.entries.set(docId, { eventId, before, now, updated: updated ?? null });
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** The messages to publish, in the order the changes were first seen. */
  messages(uid: string, calendarId: string): ChangeMessage[] {
    const out: ChangeMessage[] = [];
    for (const e of this.entries.values()) {
      const change: ChangeKind | undefined =
        e.before && e.now ? 'updated' : e.now ? 'created' : e.before ? 'deleted' : undefined;
      if (change)
        out.push({ v: 1, uid, calendarId, eventId: e.eventId, change, updated: e.updated });
    }
    return out;
  }
}
