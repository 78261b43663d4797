// calendarListWatches/{watchId}: the per-user calendarList.watch channel behind `calsync connect --all` (server only).
import { Timestamp, type Firestore, type Query } from '@google-cloud/firestore';
import { subscriptionIdFor } from '../ids.js';
import type { ChannelRecord } from './schema.js';

export const CALENDAR_LIST_WATCHES = 'calendarListWatches';

export const calendarListWatchPath = (watchId: string) => `${CALENDAR_LIST_WATCHES}/${watchId}`;

/**
 * The id a user's calendar-list watch uses in its channel token. Derived like a subscription id
 * from an empty calendar id (no real calendar has one), so it fits `v1.<id>.<mac>` and never
 * collides with a subscription.
 */
export function calendarListWatchIdFor(uid: string): string {
  return subscriptionIdFor(uid, '');
}

/** One user's calendar-list watch; shaped like the channel part of SubscriptionDoc so renewal treats both alike. */
export interface CalendarListWatchDoc {
  uid: string;
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

export function newCalendarListWatchDoc(uid: string, now: number): CalendarListWatchDoc {
  const t = Timestamp.fromMillis(now);
  return {
    uid,
    status: 'active',
    channel: null,
    previousChannel: null,
    channelExpiresAt: null,
    renewalClaim: null,
    lastReconciledAt: null,
    lastError: null,
    createdAt: t,
    updatedAt: t,
  };
}

/** Active calendar-list watches (renewal reconciles each of them every run). */
export function activeCalendarListWatches(db: Firestore): Query<CalendarListWatchDoc> {
  return db
    .collection(CALENDAR_LIST_WATCHES)
    .where('status', '==', 'active') as unknown as Query<CalendarListWatchDoc>;
}
