// Renewal claims: a transaction marks a document (subscription or calendar-list watch) as being renewed by one holder until an expiry.
import { Timestamp, type DocumentData, type Firestore } from '@google-cloud/firestore';

export interface Claimable {
  renewalClaim?: { holder: string; until: Timestamp } | null;
}

export type ClaimResult<T> =
  | { kind: 'claimed'; doc: T }
  | { kind: 'missing' }
  /** Another live holder has it. */
  | { kind: 'busy'; holder: string }
  /** `stillNeeded` said no on fresh data (another run already did the work). */
  | { kind: 'not_needed'; doc: T };

/**
 * Claims `path` for `holder` until `now + claimMs`, provided `stillNeeded(doc)` holds on the data
 * read inside the transaction. A claim whose `until` has passed counts as free (its holder died).
 */
export async function claimDocument<T extends Claimable & DocumentData>(
  db: Firestore,
  path: string,
  holder: string,
  now: number,
  claimMs: number,
  stillNeeded: (doc: T) => boolean,
): Promise<ClaimResult<T>> {
  const ref = db.doc(path);
  return db.runTransaction(async (tx) => {
    const snap = await tx.get(ref);
    if (!snap.exists) return { kind: 'missing' } as const;
    const doc = snap.data() as T;
    const claim = doc.renewalClaim;
    if (claim && claim.holder !== holder && claim.until.toMillis() > now) {
      return { kind: 'busy', holder: claim.holder } as const;
    }
    if (!stillNeeded(doc)) return { kind: 'not_needed', doc } as const;
    const renewalClaim = { holder, until: Timestamp.fromMillis(now + claimMs) };
    tx.update(ref, { renewalClaim });
    return { kind: 'claimed', doc: { ...doc, renewalClaim } } as const;
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
