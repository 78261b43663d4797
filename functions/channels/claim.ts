// Renewal claims: mark a document (subscription or calendar-list watch) as being renewed by one holder until an expiry.
import {
  Timestamp,
  type DocumentData,
  type DocumentSnapshot,
  type Firestore,
} from '@google-cloud/firestore';

export interface Claimable {
  renewalClaim?: { holder: string; until: Timestamp } | null;
}

export type ClaimResult<T> =
  /** `writeTime`: the claim's commit time, a precondition for a one-write store (fast path only). */
  | { kind: 'claimed'; doc: T; writeTime: Timestamp | undefined }
  | { kind: 'missing' }
  /** Another live holder has it. */
  | { kind: 'busy'; holder: string }
  /** `stillNeeded` said no on fresh data (another run already did the work). */
  | { kind: 'not_needed'; doc: T };

/** gRPC FAILED_PRECONDITION: the document changed since the snapshot the write was conditioned on. */
export const FAILED_PRECONDITION = 9;

export function isPreconditionFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === FAILED_PRECONDITION || code === 10; // 10 = ABORTED (contention)
}

type Verdict<T> = { kind: 'busy'; holder: string } | { kind: 'not_needed'; doc: T } | undefined;

function judge<T extends Claimable>(
  doc: T,
  holder: string,
  now: number,
  stillNeeded: (doc: T) => boolean,
): Verdict<T> {
  const claim = doc.renewalClaim;
  if (claim && claim.holder !== holder && claim.until.toMillis() > now) {
    return { kind: 'busy', holder: claim.holder };
  }
  if (!stillNeeded(doc)) return { kind: 'not_needed', doc };
  return undefined;
}

/**
 * Claims `path` for `holder` until `now + claimMs`, provided `stillNeeded(doc)` holds on the
 * document as it is when the claim is written. A claim whose `until` has passed counts as free.
 *
 * With `seen` (the snapshot a query just returned) the claim is one write conditioned on that
 * snapshot's update time; if the document changed meanwhile it falls back to a transaction.
 */
export async function claimDocument<T extends Claimable & DocumentData>(
  db: Firestore,
  path: string,
  holder: string,
  now: number,
  claimMs: number,
  stillNeeded: (doc: T) => boolean,
  seen?: DocumentSnapshot,
): Promise<ClaimResult<T>> {
  const ref = db.doc(path);
  const renewalClaim = { holder, until: Timestamp.fromMillis(now + claimMs) };
  if (seen?.exists && seen.updateTime) {
    const doc = seen.data() as T;
    const verdict = judge(doc, holder, now, stillNeeded);
    if (verdict) return verdict;
    try {
      const res = await ref.update({ renewalClaim }, { lastUpdateTime: seen.updateTime });
      return { kind: 'claimed', doc: { ...doc, renewalClaim }, writeTime: res.writeTime };
    } catch (err) {
      if (!isPreconditionFailure(err)) throw err;
      // Changed since the query (another run, the worker): decide again on fresh data.
    }
  }
  return db.runTransaction(async (tx) => {
    const snap = await tx.get(ref);
    if (!snap.exists) return { kind: 'missing' } as const;
    const doc = snap.data() as T;
    const verdict = judge(doc, holder, now, stillNeeded);
    if (verdict) return verdict;
    tx.update(ref, { renewalClaim });
    return { kind: 'claimed', doc: { ...doc, renewalClaim }, writeTime: undefined } as const;
  });
}

/** Drops the claim if it is still `holder`'s (best effort: an expired claim is free anyway). */
export async function releaseClaim(db: Firestore, path: string, holder: string): Promise<void> {
  const ref = db.doc(path);
  await db.runTransaction(async (tx) => {
    const snap = await tx.get(ref);
    const claim = (snap.data() as Claimable | undefined)?.renewalClaim;
    if (snap.exists && claim?.holder === holder) tx.update(ref, { renewalClaim: null });
  });
}
