// Subscription documents written straight into Firestore for tests and benchmarks that need many calendars without a Google user each.
import { Timestamp } from '@google-cloud/firestore';
import { newSubscriptionDoc } from '../../functions/channels/subscription.js';
import type { SubscriptionDoc } from '../../functions/store/schema.js';

const DAY = 86_400_000;

/**
 * A kept calendar whose only due work is the day's occurrence roll: synced at `now`, its channel
 * fresh (expires `channelDays` later), rolled the day before — no other renewal phase touches it.
 */
export function dueForRollOnly(
  uid: string,
  calendarId: string,
  channelId: string,
  now: number,
  channelDays = 5,
): SubscriptionDoc {
  const expiration = Timestamp.fromMillis(now + channelDays * DAY);
  return {
    ...newSubscriptionDoc(uid, calendarId, now),
    syncToken: 'seeded',
    lastSyncedAt: Timestamp.fromMillis(now),
    channel: {
      id: channelId,
      resourceId: `res-${channelId}`,
      expiration,
      createdAt: Timestamp.fromMillis(now),
    },
    channelExpiresAt: expiration,
    occurrencesRolledAt: Timestamp.fromMillis(now - DAY),
  };
}
