// subscriptions/{id}: reads, failures and their backoff, status changes, removal (which revokes any live lease).
import { Timestamp, type Firestore } from '@google-cloud/firestore';
import { calendarSyncSet } from './calendars.js';
import { compareAndSet, type CasWrite } from './cas.js';
import { revocationDoc, revocationRef } from './fence.js';
import { paths, type LastError, type SubscriptionDoc, type SyncStatus } from './schema.js';

export function readSubscription(db: Firestore, subscriptionId: string) {
  return db
    .doc(paths.subscription(subscriptionId))
    .get()
    .then((s) => (s.exists ? (s.data() as SubscriptionDoc) : undefined));
}

export interface RetryPolicy {
  errorRetryBaseMs: number;
  errorRetryMaxMs: number;
  transientFailuresBeforeError: number;
}

/** When the k-th failure in a row (k ≥ 1) is retried: base · 2^(k−1), capped. */
export function nextRetryDelay(failures: number, p: RetryPolicy): number {
  return Math.min(p.errorRetryMaxMs, p.errorRetryBaseMs * 2 ** Math.max(0, failures - 1));
}

export interface FailureInput {
  now: number;
  error: { code: string; reason: string };
  /** A retry would get the same answer (403 forbidden, 400 …): `error` at once. */
  permanent: boolean;
  policy: RetryPolicy;
}

export interface FailureRecord {
  status: SyncStatus;
  failures: number;
  nextRetryAt: number | null;
}

/**
 * Records a failed sync: the error, one more failure in a row and — when permanent, or after
 * `transientFailuresBeforeError` transient ones — status `error` with the next automatic retry
 * (the scheduled run retries it then; any notification retries it sooner). A status a person must
 * act on (removed, needs_reauth) is left alone.
 */
export async function recordFailure(
  db: Firestore,
  subscriptionId: string,
  f: FailureInput,
): Promise<FailureRecord | undefined> {
  const ref = db.doc(paths.subscription(subscriptionId));
  return compareAndSet(ref, (snap, write) => {
    const sub = snap.data() as SubscriptionDoc | undefined;
    if (!sub) return undefined;
    const failures = (sub.failures ?? 0) + 1;
    const toError =
      (sub.status === 'active' || sub.status === 'error') &&
      (f.permanent || sub.status === 'error' || failures >= f.policy.transientFailuresBeforeError);
    const status: SyncStatus = toError ? 'error' : sub.status;
    const nextRetryAt = toError ? f.now + nextRetryDelay(failures, f.policy) : null;
    const at = Timestamp.fromMillis(f.now);
    const lastError: LastError = { ...f.error, at };
    write({
      update: {
        status,
        failures,
        lastError,
        nextRetryAt: nextRetryAt === null ? null : Timestamp.fromMillis(nextRetryAt),
        updatedAt: at,
      },
      sets: [
        calendarSyncSet(db, sub, {
          status,
          lastError,
          nextRetryAt: nextRetryAt === null ? null : Timestamp.fromMillis(nextRetryAt),
        }),
      ],
    });
    return { status, failures, nextRetryAt };
  });
}

/**
 * Sets a status a person must act on (needs_reauth, removed) on the subscription and its calendar
 * document, ending any live lease in the same commit: a sync still running can then write
 * nothing more (its fence is revoked) and cannot undo the status.
 */
export async function setTerminalStatus(
  db: Firestore,
  subscriptionId: string,
  status: 'needs_reauth' | 'removed',
  now: number,
  error: { code: string; reason: string },
): Promise<SubscriptionDoc | undefined> {
  const ref = db.doc(paths.subscription(subscriptionId));
  return compareAndSet(ref, (snap, write) => {
    const sub = snap.data() as SubscriptionDoc | undefined;
    if (!sub) return undefined;
    const at = Timestamp.fromMillis(now);
    const lastError: LastError = { ...error, at };
    const sets: NonNullable<CasWrite['sets']> = [
      calendarSyncSet(db, sub, { status, lastError, nextRetryAt: null }),
    ];
    if (sub.lease) {
      const lease = { subscriptionId, fence: sub.lease.fence, holder: sub.lease.holder };
      sets.push({ ref: revocationRef(db, lease), data: revocationDoc(lease, now, status) });
    }
    write({
      update: { status, lastError, nextRetryAt: null, lease: null, updatedAt: at },
      sets,
    });
    return sub;
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
