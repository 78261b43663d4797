// retiredChannels/{channelId}: channels calsync itself replaced or dropped (server only), so a late notification on one is stopped at most once and never mistaken for a channel in flight.
import { Timestamp, type Firestore } from '@google-cloud/firestore';

export const RETIRED_CHANNELS = 'retiredChannels';

export const retiredChannelPath = (channelId: string) =>
  `${RETIRED_CHANNELS}/${encodeURIComponent(channelId)}`;

/** How long a record outlives its channel (Firestore TTL on `expireAt`; stragglers, late retries). */
export const RETIRED_RECORD_MARGIN_MS = 2 * 24 * 3_600_000;

export interface RetiredChannelDoc {
  channelId: string;
  resourceId: string;
  /** The subscription or calendar-list watch the channel belonged to. */
  ownerId: string;
  retiredAt: Timestamp;
  /** channels.stop succeeded (or Google no longer knew the channel). */
  stopped: boolean;
  /** Set once when the worker tries to stop it itself: a replay never costs a second stop. */
  stopAttemptedAt?: Timestamp;
  /** Deletion time for the TTL policy (infra/firestore.indexes.json): channel expiry + margin. */
  expireAt: Timestamp;
}

/** Records that calsync replaced or dropped this channel (idempotent; a later call may mark it stopped). */
export async function recordRetiredChannel(
  db: Firestore,
  channel: { id: string; resourceId: string; expiration?: Timestamp | null },
  ownerId: string,
  stopped: boolean,
  now: number,
): Promise<void> {
  const expiry = channel.expiration?.toMillis() ?? now;
  const doc: RetiredChannelDoc = {
    channelId: channel.id,
    resourceId: channel.resourceId,
    ownerId,
    retiredAt: Timestamp.fromMillis(now),
    stopped,
    expireAt: Timestamp.fromMillis(Math.max(expiry, now) + RETIRED_RECORD_MARGIN_MS),
  };
  // Merged: a second record of the same channel (a retry) updates the stop outcome and keeps
  // `stopAttemptedAt`, so the worker's single attempt stays single.
  await db.doc(retiredChannelPath(channel.id)).set(doc, { merge: true });
}

export async function readRetiredChannel(
  db: Firestore,
  channelId: string,
): Promise<RetiredChannelDoc | undefined> {
  const snap = await db.doc(retiredChannelPath(channelId)).get();
  return snap.exists ? (snap.data() as RetiredChannelDoc) : undefined;
}

/**
 * Claims the one stop attempt the worker may make for a retired channel that was not stopped:
 * true for exactly one caller, however many replays race.
 */
export async function claimStopAttempt(
  db: Firestore,
  channelId: string,
  now: number,
): Promise<boolean> {
  const ref = db.doc(retiredChannelPath(channelId));
  return db.runTransaction(async (tx) => {
    const snap = await tx.get(ref);
    const doc = snap.data() as RetiredChannelDoc | undefined;
    if (!doc || doc.stopped || doc.stopAttemptedAt) return false;
    tx.update(ref, { stopAttemptedAt: Timestamp.fromMillis(now) });
    return true;
  });
}

export async function markRetiredStopped(db: Firestore, channelId: string): Promise<void> {
  await db.doc(retiredChannelPath(channelId)).update({ stopped: true });
}
