// subscriptions/{id}: lease acquisition with fencing, pending flag, token commit, release, status changes.
import {
  Timestamp,
  type DocumentData,
  type DocumentReference,
  type DocumentSnapshot,
  type Firestore,
  type UpdateData,
} from '@google-cloud/firestore';
import { paths, type LastError, type SubscriptionDoc, type SyncStatus } from './schema.js';

/** A lease this worker holds: the fence must still be in place for any commit. */
export interface HeldLease {
  subscriptionId: string;
  holder: string;
  fence: number;
}

export type AcquireResult =
  | { kind: 'acquired'; lease: HeldLease; sub: SubscriptionDoc }
  /** Another worker holds a live lease: `pending` was set, it will run once more. */
  | { kind: 'busy' }
  /** The message was published before the start of the last completed sync (minus skew). */
  | { kind: 'covered' }
  | { kind: 'missing' }
  | { kind: 'inactive'; status: SyncStatus };

export interface AcquireOptions {
  holder: string;
  now: number;
  leaseMs: number;
  /** Publish time of the triggering message (ms); undefined never counts as covered. */
  publishedAt?: number;
  clockSkewMs: number;
  /** Pub/Sub publishTime of the message (ms): compared only with other publishTimes (watermarks). */
  watermark?: number;
  /** The message asks for a full sync (never skipped as covered; recorded when busy). */
  full?: boolean;
}

export function readSubscription(db: Firestore, subscriptionId: string) {
  return db
    .doc(paths.subscription(subscriptionId))
    .get()
    .then((s) => (s.exists ? (s.data() as SubscriptionDoc) : undefined));
}

/** Status values that mean "do not sync". */
const INACTIVE: ReadonlySet<SyncStatus> = new Set(['removed', 'needs_reauth']);

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
    const lastStart = sub.lastSyncStartedAt?.toMillis();
    // Published before a completed sync began (two clocks: with a margin).
    if (
      !o.full &&
      o.publishedAt !== undefined &&
      lastStart !== undefined &&
      o.publishedAt < lastStart - o.clockSkewMs
    ) {
      return { kind: 'covered' } as const;
    }
    // Published (Pub/Sub's clock) no later than a message a completed run provably covered.
    if (
      !o.full &&
      o.watermark !== undefined &&
      typeof sub.coveredThrough === 'number' &&
      o.watermark <= sub.coveredThrough
    ) {
      return { kind: 'covered' } as const;
    }
    const lease = sub.lease;
    if (lease && lease.holder !== o.holder && lease.expiresAt.toMillis() > o.now) {
      const mark = sub.pendingPublishedAt ?? null;
      const raise = o.watermark !== undefined && (mark === null || o.watermark > mark);
      if (!sub.pending || raise || (o.full && !sub.fullSyncRequested)) {
        write({
          pending: true,
          ...(raise ? { pendingPublishedAt: o.watermark } : {}),
          ...(o.full ? { fullSyncRequested: true } : {}),
          updatedAt: Timestamp.fromMillis(o.now),
        });
      }
      return { kind: 'busy' } as const;
    }
    const fence = (lease?.fence ?? 0) + 1;
    const next = {
      lease: { holder: o.holder, expiresAt: Timestamp.fromMillis(o.now + o.leaseMs), fence },
      pending: false,
      // This run starts after its own message was published and after reading any pending mark
      // (a dead holder's too): it covers every message published (Pub/Sub's clock) up to both.
      rerunCovers: Math.max(sub.pendingPublishedAt ?? 0, o.watermark ?? 0) || null,
      pendingPublishedAt: null,
      ...(o.full ? { fullSyncRequested: true } : {}),
      updatedAt: Timestamp.fromMillis(o.now),
    };
    write(next);
    return {
      kind: 'acquired',
      lease: { subscriptionId, holder: o.holder, fence },
      sub: { ...sub, ...next, fullSyncRequested: o.full === true || sub.fullSyncRequested },
    } as const;
  });
}

/** gRPC codes of a lost race: FAILED_PRECONDITION (updateTime moved), ABORTED (contention). */
const CONFLICT_CODES = new Set([9, 10]);
const MAX_ATTEMPTS = 30;

/**
 * A single-document transaction done optimistically: read, decide, write with a `lastUpdateTime`
 * precondition, and start over if anyone wrote in between. Equivalent to runTransaction on one
 * document, but without lock waits: 50 workers racing on one subscription never queue on a lock
 * (the emulator's pessimistic transactions time out under exactly that load).
 */
export async function compareAndSet<T>(
  ref: DocumentReference,
  decide: (snap: DocumentSnapshot, write: (data: UpdateData<DocumentData>) => void) => T,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const snap = await ref.get();
    let update: UpdateData<DocumentData> | undefined;
    const result = decide(snap, (data) => {
      update = data;
    });
    if (!update) return result;
    try {
      await ref.update(update, { lastUpdateTime: snap.updateTime! });
      return result;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code !== 'number' || !CONFLICT_CODES.has(code) || attempt >= MAX_ATTEMPTS) {
        throw err;
      }
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(500, 10 * 2 ** attempt)));
    }
  }
}

function holds(sub: SubscriptionDoc | undefined, lease: HeldLease): boolean {
  return sub?.lease?.holder === lease.holder && sub.lease.fence === lease.fence;
}

/** Extends the lease; false when it is no longer ours (another worker took over after expiry). */
export async function renewLease(
  db: Firestore,
  lease: HeldLease,
  now: number,
  leaseMs: number,
): Promise<boolean> {
  const ref = db.doc(paths.subscription(lease.subscriptionId));
  return compareAndSet(ref, (snap, write) => {
    if (!holds(snap.data() as SubscriptionDoc | undefined, lease)) return false;
    write({ 'lease.expiresAt': Timestamp.fromMillis(now + leaseMs) });
    return true;
  });
}

export interface CommitInput {
  syncToken: string;
  fullSyncTimeMin: string | null;
  full: boolean;
  startedAt: number;
  now: number;
  leaseMs: number;
  stats: { pages: number; items: number; writes: number };
}

export type CommitResult =
  /** Token stored, lease released. */
  | { kind: 'released' }
  /** Token stored; a message arrived meanwhile: the lease is kept, run again. */
  | { kind: 'again'; full: boolean }
  /** The fence moved: nothing was stored. */
  | { kind: 'lost' };

/**
 * The commit point: stores nextSyncToken only if the fence is still ours, in the same transaction
 * that either releases the lease or (pending) keeps it for one more run. A message that finds the
 * lease busy and sets pending conflicts with this transaction, so it is never missed.
 */
export async function commitSync(
  db: Firestore,
  lease: HeldLease,
  c: CommitInput,
): Promise<CommitResult> {
  const ref = db.doc(paths.subscription(lease.subscriptionId));
  return compareAndSet(ref, (snap, write) => {
    const sub = snap.data() as SubscriptionDoc | undefined;
    if (!sub || !holds(sub, lease)) return { kind: 'lost' } as const;
    const stats = sub.stats ?? {
      syncs: 0,
      fullSyncs: 0,
      lastPages: 0,
      lastItems: 0,
      lastWrites: 0,
    };
    const again = sub.pending === true;
    const fullRequestedMeanwhile = c.full ? false : sub.fullSyncRequested === true;
    write({
      syncToken: c.syncToken,
      ...(c.full ? { fullSyncTimeMin: c.fullSyncTimeMin } : {}),
      fullSyncRequested: fullRequestedMeanwhile,
      lastSyncStartedAt: Timestamp.fromMillis(c.startedAt),
      lastSyncedAt: Timestamp.fromMillis(c.now),
      lastError: null,
      status: 'active',
      stats: {
        syncs: stats.syncs + 1,
        fullSyncs: stats.fullSyncs + (c.full ? 1 : 0),
        lastPages: c.stats.pages,
        lastItems: c.stats.items,
        lastWrites: c.stats.writes,
      },
      pending: false,
      // The run just committed covers the busy messages whose mark it consumed when it started;
      // a re-run consumes the marks set meanwhile.
      coveredThrough: Math.max(sub.coveredThrough ?? 0, sub.rerunCovers ?? 0) || null,
      rerunCovers: again ? (sub.pendingPublishedAt ?? null) : null,
      pendingPublishedAt: null,
      lease: again ? { ...sub.lease, expiresAt: Timestamp.fromMillis(c.now + c.leaseMs) } : null,
      updatedAt: Timestamp.fromMillis(c.now),
    });
    return again
      ? ({ kind: 'again', full: fullRequestedMeanwhile } as const)
      : ({ kind: 'released' } as const);
  });
}

/** Gives the lease up if it is still ours (error paths); pending stays for the next worker. */
export async function releaseLease(
  db: Firestore,
  lease: HeldLease,
  opts: { pending?: boolean } = {},
): Promise<void> {
  const ref = db.doc(paths.subscription(lease.subscriptionId));
  await compareAndSet(ref, (snap, write) => {
    if (holds(snap.data() as SubscriptionDoc | undefined, lease)) {
      write({ lease: null, ...(opts.pending ? { pending: true } : {}) });
    }
  });
}

/** Changes the subscription status (needs_reauth, removed, error) and records the error. */
export async function setSubscriptionStatus(
  db: Firestore,
  subscriptionId: string,
  status: SyncStatus,
  now: number,
  error?: { code: string; reason: string },
): Promise<void> {
  const lastError: LastError | null = error ? { ...error, at: Timestamp.fromMillis(now) } : null;
  await db.doc(paths.subscription(subscriptionId)).update({
    status,
    ...(error ? { lastError } : {}),
    updatedAt: Timestamp.fromMillis(now),
  });
}

/** Records an error without changing the status (transient failures that Pub/Sub will retry). */
export async function recordSubscriptionError(
  db: Firestore,
  subscriptionId: string,
  now: number,
  error: { code: string; reason: string },
): Promise<void> {
  await db.doc(paths.subscription(subscriptionId)).update({
    lastError: { ...error, at: Timestamp.fromMillis(now) },
    updatedAt: Timestamp.fromMillis(now),
  });
}

/** After a removal: no channel left to renew. */
export async function clearChannels(db: Firestore, subscriptionId: string, now: number) {
  await db.doc(paths.subscription(subscriptionId)).update({
    channel: null,
    previousChannel: null,
    channelExpiresAt: null,
    updatedAt: Timestamp.fromMillis(now),
  });
}
