// calendarListWatches/{watchId}: the per-user calendarList.watch channel behind `calsync connect --all` (server only).
import { Timestamp, type Firestore, type Query } from '@google-cloud/firestore';
import { subscriptionIdFor } from '../ids.js';
import { newChannelOwner, type ChannelRecord } from './schema.js';

export const CALENDAR_LIST_WATCHES = 'calendarListWatches';

export const calendarListWatchPath = (watchId: string) => `${CALENDAR_LIST_WATCHES}/${watchId}`;

/**
 * The id a calendar-list watch uses in its channel token. Derived like a subscription id, from an
 * empty calendar id for the user's legacy (unbound) watch, and from a NUL-prefixed account marker
 * for one Google account's watch — no real calendar id is empty or contains NUL — so it fits
 * `v2.<id>.<expiry>.<mac>` and never collides with a subscription. A legacy watch keeps its id
 * when the migration binds it to an account (its channel's token carries that id).
 */
export function calendarListWatchIdFor(uid: string, accountId?: string | null): string {
  return subscriptionIdFor(uid, accountId ? `\u0000account\u0000${accountId}` : '');
}

/** One user's calendar-list watch; shaped like the channel part of SubscriptionDoc so renewal treats both alike. */
export interface CalendarListWatchDoc {
  uid: string;
  /** The Google account whose calendar list is watched; null/absent: legacy (the user's only account). */
  accountId?: string | null;
  status: 'active' | 'needs_reauth';
  channel: ChannelRecord | null;
  previousChannel: ChannelRecord | null;
  channelExpiresAt: Timestamp | null;
  renewalClaim: { holder: string; until: Timestamp } | null;
  lastReconciledAt: Timestamp | null;
  lastError: { code: string; reason: string; at: Timestamp } | null;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

export function newCalendarListWatchDoc(
  uid: string,
  now: number,
  accountId: string | null = null,
): CalendarListWatchDoc {
  return { ...newChannelOwner(uid, accountId, now), lastReconciledAt: null };
}

/**
 * The watch document of one account of a user: the legacy id when that document is (or was
 * migrated to be) the account's, else the account's own id.
 */
export async function calendarListWatchIdOf(
  db: Firestore,
  owner: { uid: string; accountId?: string | null },
): Promise<string> {
  const legacyId = calendarListWatchIdFor(owner.uid);
  if (!owner.accountId) return legacyId;
  const legacy = await db.doc(calendarListWatchPath(legacyId)).get();
  if ((legacy.data() as CalendarListWatchDoc | undefined)?.accountId === owner.accountId) {
    return legacyId;
  }
  return calendarListWatchIdFor(owner.uid, owner.accountId);
}

/** Every calendar-list watch of a user (each Google account has its own). */
export function calendarListWatchesOfUser(db: Firestore, uid: string): Query<CalendarListWatchDoc> {
  return db
    .collection(CALENDAR_LIST_WATCHES)
    .where('uid', '==', uid) as unknown as Query<CalendarListWatchDoc>;
}

/** Active calendar-list watches (renewal reconciles each of them every run). */
export function activeCalendarListWatches(db: Firestore): Query<CalendarListWatchDoc> {
  return db
    .collection(CALENDAR_LIST_WATCHES)
    .where('status', '==', 'active') as unknown as Query<CalendarListWatchDoc>;
}
