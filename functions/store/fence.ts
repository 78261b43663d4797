// Write fences: every batch a sync writes carries a guard that fails it atomically once its lease was revoked.
//
// The guard is a delete of `leaseRevocations/{subscriptionId}_{fence}_{holder hash}` with the precondition
// "does not exist": a no-op while the lease stands, and a failed precondition — failing the whole
// batch, since a WriteBatch is atomic — as soon as the revocation marker exists. The marker is
// written in the same atomic commit that ends the lease: a takeover by another worker, a release
// on an error path, a removal of the calendar. So once another worker has taken over, no write of
// the old one can land, however late it arrives (docs/decisions/006-write-fencing.md).
import { createHash } from 'node:crypto';
import {
  Timestamp,
  type DocumentReference,
  type Firestore,
  type WriteBatch,
} from '@google-cloud/firestore';

/** Firestore's 500 writes per commit, minus the guard. */
export const MAX_FENCED_BATCH = 499;

/** Collection of revocation markers (server only; a TTL policy on `expireAt` removes old ones). */
export const LEASE_REVOCATIONS = 'leaseRevocations';

/** How long a marker is kept: far longer than any write can stay in flight. */
export const REVOCATION_TTL_MS = 7 * 24 * 3_600_000;

export interface WriteFence {
  readonly subscriptionId: string;
  readonly fence: number;
  /** A new batch that already holds the guard (room for MAX_FENCED_BATCH more writes). */
  batch(): WriteBatch;
}

/** One lease acquisition: holders are unique per acquisition, so the marker id never repeats. */
export interface LeaseIdentity {
  subscriptionId: string;
  fence: number;
  holder: string;
}

export function revocationRef(db: Firestore, lease: LeaseIdentity): DocumentReference {
  const holder = createHash('sha256').update(lease.holder).digest('base64url').slice(0, 16);
  return db.collection(LEASE_REVOCATIONS).doc(`${lease.subscriptionId}_${lease.fence}_${holder}`);
}

/** The marker's body, written by whoever ends the lease. */
export function revocationDoc(lease: LeaseIdentity, now: number, why: string) {
  return {
    subscriptionId: lease.subscriptionId,
    fence: lease.fence,
    why,
    revokedAt: Timestamp.fromMillis(now),
    expireAt: Timestamp.fromMillis(now + REVOCATION_TTL_MS),
  };
}

export function leaseFence(db: Firestore, lease: LeaseIdentity): WriteFence {
  const guard = revocationRef(db, lease);
  return {
    subscriptionId: lease.subscriptionId,
    fence: lease.fence,
    batch() {
      const batch = db.batch();
      batch.delete(guard, { exists: false });
      return batch;
    },
  };
}

/**
 * True when a commit failed because its guard found the revocation marker. The emulator answers
 * ALREADY_EXISTS (6) to a violated `exists: false`; Firestore may answer FAILED_PRECONDITION (9).
 * Fenced batches carry no other precondition, so either code means "revoked".
 */
export function isFenceViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 6 || code === 9;
}

/** Thrown by fenced writers: the lease ended (taken over, released or the calendar removed). */
export class FenceRevokedError extends Error {
  constructor(
    readonly subscriptionId: string,
    options?: { cause?: unknown },
  ) {
    super(`lease on ${subscriptionId} was revoked; the batch was refused`, options);
    this.name = 'FenceRevokedError';
  }
}

/** Commits a fenced batch, turning a guard violation into FenceRevokedError. */
export async function commitFenced(fence: WriteFence, batch: WriteBatch): Promise<void> {
  try {
    await batch.commit();
  } catch (err) {
    if (isFenceViolation(err)) throw new FenceRevokedError(fence.subscriptionId, { cause: err });
    throw err;
  }
}
