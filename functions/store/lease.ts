// The per-calendar sync lease on subscriptions/{id}: acquire (coalescing by message number), begin a listing, renew, commit, release.
import { FieldValue, Timestamp, type Firestore } from '@google-cloud/firestore';
import { calendarSyncSet } from './calendars.js';
import { compareAndSet, type CasWrite } from './cas.js';
import { revocationDoc, revocationRef } from './fence.js';
import { paths, type SubscriptionDoc, type SyncStatus } from './schema.js';

/** A lease this worker holds: its fence guards every write (store/fence.ts) and the commit. */
export interface HeldLease {
  subscriptionId: string;
  holder: string;
  fence: number;
}

/** What asked for the sync. */
export type Trigger =
  | {
      kind: 'notification';
      channelId: string;
      messageNumber: number;
      /** When the webhook received it (webhook clock, ms): the second coverage rule. */
      receivedAt?: number;
    }
  | { kind: 'resync'; full: boolean; publishedAt?: number };

export type AcquireResult =
  | { kind: 'acquired'; lease: HeldLease; sub: SubscriptionDoc }
  /** Another worker holds a live lease; it runs once more if this message is not covered by it. */
  | { kind: 'busy' }
  /** A completed run already covered this message: nothing to do. */
  | { kind: 'covered' }
  | { kind: 'missing' }
  | { kind: 'inactive'; status: SyncStatus };

export interface AcquireOptions {
  holder: string;
  now: number;
  leaseMs: number;
  /**
   * Margin between two clocks: a resync's publish time or a notification's receive time (webhook)
   * against a listing's start (worker).
   */
  clockSkewMs: number;
  /** CALSYNC_RECHECK_MS: a notification counts as answered by a listing that began this long after it was surely received (visibility lag). */
  recheckMs: number;
  trigger: Trigger;
}

/** Statuses that mean "do not sync" (a person must act). */
export const INACTIVE: ReadonlySet<SyncStatus> = new Set(['removed', 'needs_reauth']);

const maxOf = (a: number | undefined, b: number) => (a === undefined || b > a ? b : a);
const ms = (t: Timestamp | null | undefined) => (t ? t.toMillis() : undefined);

/**
 * A notification the webhook received before the latest listing began but that reaches a worker
 * only now (Pub/Sub paces push deliveries). Decides when the next listing happens, never whether.
 */
function isStraggler(sub: SubscriptionDoc, t: Trigger): boolean {
  const listed = ms(sub.lastListStartedAt);
  return (
    t.kind === 'notification' &&
    t.receivedAt !== undefined &&
    listed !== undefined &&
    t.receivedAt < listed
  );
}

/**
 * When a notification was surely received, on the worker's clock: when this worker first sees it,
 * or the webhook's receipt plus the clock margin if that is earlier (decision 007, visibility lag).
 * A straggler counts at the later bound: the re-check it is due for then begins late enough to
 * cover, by receive time, the rest of its burst still on the way.
 */
function receiptOf(sub: SubscriptionDoc, t: Trigger, o: AcquireOptions): number {
  if (t.kind !== 'notification' || t.receivedAt === undefined) return o.now;
  const bound = t.receivedAt + o.clockSkewMs;
  return isStraggler(sub, t) ? bound : Math.min(o.now, bound);
}

/** Whether a completed run answered the trigger: listed after it, and late enough for its lag. */
function coveredByCommit(sub: SubscriptionDoc, t: Trigger, o: AcquireOptions): boolean {
  const started = ms(sub.lastSyncStartedAt);
  if (t.kind === 'resync') {
    return !t.full && t.publishedAt !== undefined && started !== undefined
      ? t.publishedAt < started - o.clockSkewMs
      : false;
  }
  // Exact: the message number (folded only once its lag was re-checked, see commitSync).
  const upTo = sub.coveredMessages?.[t.channelId];
  if (upTo !== undefined && t.messageNumber <= upTo) return true;
  // Also: received (by more than the margin) at least the re-check delay before a listing began.
  if (t.receivedAt === undefined || started === undefined) return false;
  const bound = t.receivedAt + o.clockSkewMs;
  return bound < started && bound + o.recheckMs <= started;
}

/**
 * How the running listing (the latest begun under the live lease) stands to a notification:
 * `number` — received before it began (runCovers); `done` — received by receive time before it
 * began, early enough for the lag; `listed` — before it began, but the lag is still owed; `no`.
 */
function runningCover(
  sub: SubscriptionDoc,
  t: Extract<Trigger, { kind: 'notification' }>,
  o: AcquireOptions,
): 'number' | 'done' | 'listed' | 'no' {
  const upTo = sub.runCovers?.[t.channelId];
  if (upTo !== undefined && t.messageNumber <= upTo) return 'number';
  const listed = ms(sub.lastListStartedAt);
  if (t.receivedAt === undefined || listed === undefined) return 'no';
  if (t.receivedAt + o.clockSkewMs >= listed) return 'no';
  return t.receivedAt + o.clockSkewMs + o.recheckMs <= listed ? 'done' : 'listed';
}

/** The fields a trigger records whoever handles it: the message number and receipt seen, a full request. */
function noted(sub: SubscriptionDoc, t: Trigger, o: AcquireOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (t.kind === 'notification') {
    const seen = sub.seenMessages?.[t.channelId];
    out[`seenMessages.${t.channelId}`] = maxOf(seen, t.messageNumber);
    // How many notifications the next listing answers (a redelivery or duplicate is not counted).
    // A lower number than one seen was sent before it: its receipt is bounded by that one's.
    if (seen === undefined || t.messageNumber > seen) {
      out.notifiedSinceListing = FieldValue.increment(1);
      const newest = maxOf(ms(sub.newestReceiptAt), receiptOf(sub, t, o));
      out.newestReceiptAt = Timestamp.fromMillis(newest);
    }
  } else if (t.full) {
    out.fullSyncRequested = true;
  }
  return out;
}

/**
 * The first trigger since the last listing that is not a straggler of it (a notification the
 * webhook received before that listing began, delivered late): the next listing settles from it.
 * Scheduling only — coverage never depends on it.
 */
function urgency(sub: SubscriptionDoc, t: Trigger, o: AcquireOptions): Record<string, unknown> {
  if (sub.urgentAt || isStraggler(sub, t)) return {};
  return { urgentAt: Timestamp.fromMillis(receiptOf(sub, t, o)) };
}

/** What a message that finds the lease busy writes (null: nothing, the running run answers it). */
function busyUpdate(
  sub: SubscriptionDoc,
  t: Trigger,
  o: AcquireOptions,
): Record<string, unknown> | null {
  if (t.kind === 'resync') {
    const listed = ms(sub.lastListStartedAt);
    const covered =
      !t.full && t.publishedAt !== undefined && listed !== undefined
        ? t.publishedAt < listed - o.clockSkewMs
        : false;
    return covered ? null : { ...noted(sub, t, o), pending: true, ...urgency(sub, t, o) };
  }
  const cover = runningCover(sub, t, o);
  if (cover === 'number' || cover === 'done') return null;
  const seen = sub.seenMessages?.[t.channelId];
  const isNew = seen === undefined || t.messageNumber > seen;
  // Listed by the running listing, the lag still owed: the holder re-checks by newestReceiptAt.
  if (cover === 'listed') return isNew ? noted(sub, t, o) : null;
  // Not covered: the holder lists once more. A redelivery finds `pending` already set.
  if (!isNew && sub.pending === true) return null;
  return { ...noted(sub, t, o), pending: true, ...urgency(sub, t, o) };
}

/**
 * Takes the lease, or reports why not. A live lease of another holder makes this message `busy`:
 * unless the running listing already covers it, `pending` is set so the holder runs once more.
 * Taking over an expired lease revokes its fence in the same commit (no late write of the old
 * holder can land afterwards).
 */
export async function acquireLease(
  db: Firestore,
  subscriptionId: string,
  o: AcquireOptions,
): Promise<AcquireResult> {
  const ref = db.doc(paths.subscription(subscriptionId));
  return compareAndSet(ref, (snap, write) => {
    if (!snap.exists) return { kind: 'missing' } as const;
    const sub = snap.data() as SubscriptionDoc;
    if (INACTIVE.has(sub.status)) return { kind: 'inactive', status: sub.status } as const;
    if (coveredByCommit(sub, o.trigger, o)) return { kind: 'covered' } as const;
    const stamp = { updatedAt: Timestamp.fromMillis(o.now) };
    const lease = sub.lease;
    if (lease && lease.holder !== o.holder && lease.expiresAt.toMillis() > o.now) {
      const update = busyUpdate(sub, o.trigger, o);
      if (update) write({ update: { ...update, ...stamp } });
      return { kind: 'busy' } as const;
    }
    // Fences only grow (lastFence survives releases); holders are unique per acquisition.
    const fence = Math.max(sub.lastFence ?? 0, lease?.fence ?? 0) + 1;
    const held = { holder: o.holder, expiresAt: Timestamp.fromMillis(o.now + o.leaseMs), fence };
    const update = {
      ...noted(sub, o.trigger, o),
      ...(o.trigger.kind === 'notification' ? urgency(sub, o.trigger, o) : {}),
      lease: held,
      lastFence: fence,
      runCovers: null,
      ...stamp,
    };
    const w: CasWrite = { update };
    if (lease) {
      // The previous holder never released: end its fence with this takeover.
      const old = { subscriptionId, fence: lease.fence, holder: lease.holder };
      const marker = revocationDoc(old, o.now, `taken over by fence ${fence}`);
      w.sets = [{ ref: revocationRef(db, old), data: marker }];
    }
    write(w);
    const after = { ...sub, lease: held };
    if (o.trigger.kind === 'resync' && o.trigger.full) after.fullSyncRequested = true;
    return {
      kind: 'acquired',
      lease: { subscriptionId, holder: o.holder, fence },
      sub: after,
    } as const;
  });
}

function holds(sub: SubscriptionDoc | undefined, lease: HeldLease): boolean {
  return sub?.lease?.holder === lease.holder && sub.lease.fence === lease.fence;
}

/**
 * A compare-and-set on the subscription that only acts while `lease` is still held: `decide` sees
 * the document when it is ours; otherwise nothing is written and `lost` is the answer.
 */
function whileHeld<T, L>(
  db: Firestore,
  lease: HeldLease,
  lost: L,
  decide: (sub: SubscriptionDoc, write: (w: CasWrite) => void) => T,
): Promise<T | L> {
  const ref = db.doc(paths.subscription(lease.subscriptionId));
  return compareAndSet<T | L>(ref, (snap, write) => {
    const sub = snap.data() as SubscriptionDoc | undefined;
    return sub && holds(sub, lease) ? decide(sub, write) : lost;
  });
}

const LOST = { kind: 'lost' } as const;

export type BeginResult =
  | {
      kind: 'begun';
      full: boolean;
      expiresAt: number;
      /** Notifications received since the previous listing began (this listing answers them). */
      notified: number;
      /** The document as it was just before this listing began. */
      sub: SubscriptionDoc;
    }
  /** Not yet: `until` (the caller's `due` on the current document) is still ahead. */
  | { kind: 'wait'; until: number }
  | { kind: 'lost' };

/**
 * Marks the start of a listing: everything received so far (message numbers, `pending`, the
 * newest receipt) is covered by it, and `lastListStartedAt` spaces listings. Also extends the
 * lease. With `due`, the listing begins only once `due(document)` has come (settle window,
 * minimum interval, re-check delay — decided on the document as it is now, atomically).
 */
export async function beginListing(
  db: Firestore,
  lease: HeldLease,
  now: number,
  leaseMs: number,
  due?: (sub: SubscriptionDoc) => number,
): Promise<BeginResult> {
  return whileHeld(db, lease, LOST, (sub, write) => {
    const until = due?.(sub) ?? now;
    if (until > now) return { kind: 'wait', until } as const;
    const expiresAt = now + leaseMs;
    const update = {
      runCovers: { ...(sub.seenMessages ?? {}) },
      runReceiptAt: sub.newestReceiptAt ?? null,
      pending: false,
      urgentAt: null,
      notifiedSinceListing: 0,
      lastListStartedAt: Timestamp.fromMillis(now),
      'lease.expiresAt': Timestamp.fromMillis(expiresAt),
    };
    write({ update });
    const notified = sub.notifiedSinceListing ?? 0;
    return {
      kind: 'begun',
      full: sub.fullSyncRequested === true,
      expiresAt,
      notified,
      sub,
    } as const;
  });
}

/**
 * Whether the latest listing began too early for the lag of a notification received at `at`
 * (decision 007): then one more listing is owed before the lease is given up.
 */
function lagOwed(sub: SubscriptionDoc, at: Timestamp | null | undefined, recheckMs: number) {
  const listed = ms(sub.lastListStartedAt);
  return recheckMs > 0 && at && listed !== undefined ? at.toMillis() + recheckMs > listed : false;
}

/** Whether the holder lists once more: something arrived meanwhile, or a re-check is owed. */
function runsAgain(sub: SubscriptionDoc, recheckMs: number): boolean {
  return sub.pending === true || lagOwed(sub, sub.newestReceiptAt, recheckMs);
}

/** Extends the lease; the new expiry, or false when it is no longer ours. */
export async function renewLease(
  db: Firestore,
  lease: HeldLease,
  now: number,
  leaseMs: number,
): Promise<number | false> {
  return whileHeld(db, lease, false as const, (_sub, write) => {
    write({ update: { 'lease.expiresAt': Timestamp.fromMillis(now + leaseMs) } });
    return now + leaseMs;
  });
}

export interface CommitInput {
  syncToken: string;
  fullSyncTimeMin: string | null;
  full: boolean;
  now: number;
  leaseMs: number;
  stats: { pages: number; items: number; writes: number };
  /** CALSYNC_RECHECK_MS: whether the listing answered its notifications' lag, or one more is owed. */
  recheckMs: number;
  /** Keep the lease after the commit (the change feed is published under it, then `finishCommit`). */
  keepLease?: boolean;
  /** Merged into users/{uid}/calendars/{calendarId} in the same atomic commit. */
  calendar: {
    counts: { events: number; tombstones: number };
    quarantined: number;
    timeZone?: string;
    summary?: string;
  };
}

export type CommitResult =
  /** Token stored, lease released. */
  | { kind: 'released' }
  /** Token stored, lease kept as asked (keepLease): call finishCommit. */
  | { kind: 'kept' }
  /** Token stored; something arrived meanwhile: the lease is kept, run again. */
  | { kind: 'again'; full: boolean }
  /** The fence moved: nothing was stored. */
  | { kind: 'lost' };

/**
 * The commit point: stores nextSyncToken (and the calendar document's status) only if the fence
 * is still ours, in the same atomic write that either releases the lease or (pending) keeps it
 * for one more run. A message that finds the lease busy and sets pending conflicts with this
 * write, so it is never missed. A status a person must act on (removed, needs_reauth) set
 * meanwhile is kept; `error` becomes `active` again.
 */
export async function commitSync(
  db: Firestore,
  lease: HeldLease,
  c: CommitInput,
): Promise<CommitResult> {
  return whileHeld(db, lease, LOST, (sub, write) => {
    const again = runsAgain(sub, c.recheckMs);
    const keep = again || c.keepLease === true;
    const fullRequestedMeanwhile = c.full ? false : sub.fullSyncRequested === true;
    const status: SyncStatus = INACTIVE.has(sub.status) ? sub.status : 'active';
    const at = Timestamp.fromMillis(c.now);
    write({
      update: {
        syncToken: c.syncToken,
        ...(c.full ? { fullSyncTimeMin: c.fullSyncTimeMin } : {}),
        fullSyncRequested: fullRequestedMeanwhile,
        lastSyncStartedAt: sub.lastListStartedAt ?? at,
        lastSyncedAt: at,
        lastError: null,
        failures: 0,
        nextRetryAt: null,
        status,
        stats: nextStats(sub, c),
        pending: false,
        allDayZoneDirty: FieldValue.delete(),
        ...coverage(sub, !lagOwed(sub, sub.runReceiptAt, c.recheckMs), again),
        lease: keep ? { ...sub.lease, expiresAt: Timestamp.fromMillis(c.now + c.leaseMs) } : null,
        // Fields of the publish-time watermark this replaced (decision 007): gone at first commit.
        pendingPublishedAt: FieldValue.delete(),
        rerunCovers: FieldValue.delete(),
        coveredThrough: FieldValue.delete(),
        updatedAt: at,
      },
      sets: [calendarStatusWrite(db, sub, status, c)],
    });
    if (again) return { kind: 'again', full: fullRequestedMeanwhile } as const;
    return keep ? ({ kind: 'kept' } as const) : ({ kind: 'released' } as const);
  });
}

/**
 * After a commit that kept the lease (the change feed published under it, so a later run of
 * another worker cannot announce a newer version first): release it, or run again if something
 * arrived meanwhile. `lost` means the lease ran out meanwhile — the token was stored anyway.
 */
export async function finishCommit(
  db: Firestore,
  lease: HeldLease,
  now: number,
  leaseMs: number,
  recheckMs: number,
): Promise<Exclude<CommitResult, { kind: 'kept' }>> {
  return whileHeld(db, lease, LOST, (sub, write) => {
    if (runsAgain(sub, recheckMs)) {
      write({ update: { 'lease.expiresAt': Timestamp.fromMillis(now + leaseMs) } });
      return { kind: 'again', full: sub.fullSyncRequested === true } as const;
    }
    write({ update: { lease: null, updatedAt: Timestamp.fromMillis(now) } });
    return { kind: 'released' } as const;
  });
}

function nextStats(sub: SubscriptionDoc, c: CommitInput): SubscriptionDoc['stats'] {
  const s = sub.stats ?? { syncs: 0, fullSyncs: 0, lastPages: 0, lastItems: 0, lastWrites: 0 };
  return {
    syncs: s.syncs + 1,
    fullSyncs: s.fullSyncs + (c.full ? 1 : 0),
    lastPages: c.stats.pages,
    lastItems: c.stats.items,
    lastWrites: c.stats.writes,
  };
}

/**
 * Covered message numbers after the run: what its listing captured, for the channels still known —
 * folded only when that listing also began late enough for their lag (`lagDone`); otherwise the
 * holder lists once more and `runCovers` stays until that listing begins.
 */
function coverage(sub: SubscriptionDoc, lagDone: boolean, again: boolean): Record<string, unknown> {
  const known = new Set([sub.channel?.id, sub.previousChannel?.id].filter((id) => !!id));
  const covered: Record<string, number> = {};
  const seen: Record<string, number> = {};
  for (const id of known) {
    const run = lagDone ? (sub.runCovers?.[id!] ?? -1) : -1;
    const c = Math.max(sub.coveredMessages?.[id!] ?? -1, run);
    if (c >= 0) covered[id!] = c;
    const s = sub.seenMessages?.[id!];
    if (s !== undefined) seen[id!] = s;
  }
  return {
    coveredMessages: covered,
    seenMessages: seen,
    runCovers: again ? (sub.runCovers ?? null) : null,
  };
}

function calendarStatusWrite(
  db: Firestore,
  sub: SubscriptionDoc,
  status: SyncStatus,
  c: CommitInput,
) {
  const at = Timestamp.fromMillis(c.now);
  const sync = {
    status,
    lastSyncedAt: at,
    lastError: null,
    nextRetryAt: null,
    quarantined: c.calendar.quarantined,
  };
  return calendarSyncSet(db, sub, sync, {
    counts: c.calendar.counts,
    ...(c.calendar.timeZone ? { timeZone: c.calendar.timeZone } : {}),
    ...(c.calendar.summary ? { summary: c.calendar.summary } : {}),
  });
}

/**
 * Gives the lease up if it is still ours (error paths), revoking its fence in the same commit so
 * that nothing this worker may still have on the wire lands later. `pending` stays (or is set) for
 * the next worker.
 */
export async function releaseLease(
  db: Firestore,
  lease: HeldLease,
  now: number,
  opts: { pending?: boolean; why?: string } = {},
): Promise<void> {
  await whileHeld(db, lease, undefined, (_sub, write) => {
    const marker = revocationDoc(lease, now, opts.why ?? 'released');
    write({
      update: { lease: null, ...(opts.pending ? { pending: true } : {}) },
      sets: [{ ref: revocationRef(db, lease), data: marker }],
    });
  });
}
