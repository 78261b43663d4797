// The change feed's outbox: a run's announcements are stored (fenced) before the writes they announce, and published after the commit.
//
// Without it a run that wrote some pages and then crashed left those events in the mirror, and the
// retry — finding them unchanged — announced nothing: the feed lost them for good. Now each page's
// announcements are written, under the lease's fence, before the page itself; the run that commits
// publishes every outbox entry of the calendar (its own and any a crashed run left), merged per
// event, and only then deletes them. A crash after the publish and before the delete repeats an
// announcement: the feed is at-least-once, in order per calendar.
//
// Entries are stored before their writes, so a crashed run may leave entries whose batch never
// landed. A crashed run's entries are therefore announced as the mirror holds each event now (read
// under the lease), never as the entry guessed: a write that never landed is not announced. A run
// that ends in a state nothing will commit from soon (Google refuses the calendar for good, the user
// must re-authorise) publishes them too, the same way, instead of leaving them for a commit that
// may never come (soak seed 9930).
import type { Firestore } from '@google-cloud/firestore';
import { FieldPath } from '@google-cloud/firestore';
import { readEventStates, type CalendarRef, type StoredEventState } from '../store/events.js';
import { commitFenced, MAX_FENCED_BATCH, type WriteFence } from '../store/fence.js';
import { paths } from '../store/schema.js';
import type { ChangeEntry, ChangeSet } from './collect.js';

/** Entries per outbox document (well under Firestore's 1 MiB). */
const PER_DOC = 1000;

function outbox(db: Firestore, subscriptionId: string) {
  return db.collection(`${paths.subscription(subscriptionId)}/outbox`);
}

/** A run's outbox writer: `record` stores entries (fenced) before the writes they announce. */
export class Outbox {
  private seq = 0;

  constructor(
    private readonly db: Firestore,
    private readonly fence: WriteFence,
    /** Unique per run: the lease holder and a run number. */
    private readonly runId: string,
  ) {}

  async record(entries: readonly ChangeEntry[]): Promise<void> {
    for (let i = 0; i < entries.length; i += PER_DOC) {
      const batch = this.fence.batch();
      const id = `${this.runId}_${String(++this.seq).padStart(6, '0')}`;
      batch.set(outbox(this.db, this.fence.subscriptionId).doc(id), {
        entries: entries.slice(i, i + PER_DOC),
        at: new Date().toISOString(),
      });
      await commitFenced(this.fence, batch);
    }
  }
}

/**
 * Everything waiting in the calendar's outbox, oldest run first (document ids sort by run, then
 * sequence), each entry's `now` taken from what the mirror holds (the caller holds the lease, so
 * the mirror is not moving), merged into `into` ahead of what the current run recorded. Returns the
 * document ids to delete once published.
 */
export async function collectOutbox(
  db: Firestore,
  cal: CalendarRef,
  subscriptionId: string,
  into: ChangeSet,
): Promise<string[]> {
  const snap = await outbox(db, subscriptionId).orderBy(FieldPath.documentId()).get();
  if (snap.empty) return [];
  const all: ChangeEntry[] = [];
  for (const doc of snap.docs) all.push(...((doc.get('entries') as ChangeEntry[]) ?? []));
  const states = await readEventStates(
    db,
    cal,
    all.map((e) => e.docId),
  );
  into.prepend(asMirrorHolds(all, states));
  return snap.docs.map((d) => d.id);
}

/**
 * Entries with `now` (and `updated`) as the mirror holds their events: live, a tombstone, or
 * nothing. Their `before` stays: nothing announced the event since they were stored (a published
 * outbox is deleted), so it is still what the feed last said.
 */
export function asMirrorHolds(
  entries: readonly ChangeEntry[],
  states: ReadonlyMap<string, StoredEventState>,
): ChangeEntry[] {
  return entries.map((e) => {
    const held = states.get(e.docId);
    if (!held) return { ...e, now: 'gone', updated: e.now === 'gone' ? e.updated : null };
    return {
      ...e,
      now: held.status === 'cancelled' ? 'tombstone' : 'live',
      updated: held.updated ?? null,
    };
  });
}

/** Deletes published outbox documents (under the fence, like every write of the run). */
export async function clearOutbox(
  db: Firestore,
  fence: WriteFence,
  ids: readonly string[],
): Promise<void> {
  for (let i = 0; i < ids.length; i += MAX_FENCED_BATCH) {
    const batch = fence.batch();
    for (const id of ids.slice(i, i + MAX_FENCED_BATCH)) {
      batch.delete(outbox(db, fence.subscriptionId).doc(id));
    }
    await commitFenced(fence, batch);
  }
}
