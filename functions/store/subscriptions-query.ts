// Subscription queries for renewal and the CLI: cursor-paged scans on one ordered field, counts, per-user lookups.
import {
  Timestamp,
  type DocumentData,
  type Firestore,
  type Query,
  type QueryDocumentSnapshot,
} from '@google-cloud/firestore';
import { SUBSCRIPTIONS, type SubscriptionDoc } from './schema.js';

/** Yields `query` page by page (startAfter the last document of the previous page). */
export async function* pagesOf<T extends DocumentData>(
  query: Query<T>,
  pageSize: number,
): AsyncGenerator<QueryDocumentSnapshot<T>[]> {
  let last: QueryDocumentSnapshot<T> | undefined;
  for (;;) {
    const q = last ? query.startAfter(last).limit(pageSize) : query.limit(pageSize);
    const snap = await q.get();
    if (snap.empty) return;
    yield snap.docs;
    if (snap.size < pageSize) return;
    last = snap.docs[snap.docs.length - 1];
  }
}

/** How many documents of `query` come after `after` (all of them without `after`). */
export async function countAfter<T extends DocumentData>(
  query: Query<T>,
  after: QueryDocumentSnapshot<T> | undefined,
): Promise<number> {
  const q = after ? query.startAfter(after) : query;
  const agg = await q.count().get();
  return agg.data().count;
}

function subscriptions(db: Firestore): Query<SubscriptionDoc> {
  return db.collection(SUBSCRIPTIONS) as unknown as Query<SubscriptionDoc>;
}

/** Statuses whose channel is kept alive: `error` too, so a calendar that recovers missed nothing. */
const LIVE = ['active', 'error'];

/**
 * `query` narrowed to documents whose time field `field` is before `ms` (`<`) or at it (`<=`),
 * in that field's order: a range filter's field is the first order, as Firestore requires.
 */
function upTo(
  query: Query<SubscriptionDoc>,
  field: string,
  op: '<' | '<=',
  ms: number,
): Query<SubscriptionDoc> {
  return query.where(field, op, Timestamp.fromMillis(ms)).orderBy(field);
}

/** Live subscriptions whose channel expires at or before `cutoff` (index: status + channelExpiresAt). */
export function expiringChannels(db: Firestore, cutoff: number): Query<SubscriptionDoc> {
  return upTo(subscriptions(db).where('status', 'in', LIVE), 'channelExpiresAt', '<=', cutoff);
}

/** Live push subscriptions without any channel (equality filters only: no composite index). */
export function missingChannels(db: Firestore): Query<SubscriptionDoc> {
  return subscriptions(db)
    .where('status', 'in', LIVE)
    .where('mode', '==', 'push')
    .where('channelExpiresAt', '==', null);
}

/** Live subscriptions whose last notification is older than `cutoff` (index: status + lastNotificationAt). */
export function quietSince(db: Firestore, cutoff: number): Query<SubscriptionDoc> {
  return upTo(subscriptions(db).where('status', 'in', LIVE), 'lastNotificationAt', '<', cutoff);
}

/** Subscriptions in `error` whose next automatic retry is due (index: status + nextRetryAt). */
export function dueRetries(db: Firestore, now: number): Query<SubscriptionDoc> {
  return upTo(subscriptions(db).where('status', '==', 'error'), 'nextRetryAt', '<=', now);
}

/** Leases that ran out before `cutoff`: their holder died (its change, and any pending mark, wait). */
export function expiredLeases(db: Firestore, cutoff: number): Query<SubscriptionDoc> {
  return upTo(subscriptions(db), 'lease.expiresAt', '<', cutoff);
}

/** A pending mark with no lease to honour it (a handed-over run whose redelivery never came). */
export function pendingWithoutLease(db: Firestore): Query<SubscriptionDoc> {
  return subscriptions(db).where('pending', '==', true).where('lease', '==', null);
}

/** Active polling-mode subscriptions, least recently synced first (index: status + mode + lastSyncedAt). */
export function pollingSubscriptions(db: Firestore): Query<SubscriptionDoc> {
  return subscriptions(db)
    .where('status', '==', 'active')
    .where('mode', '==', 'poll')
    .orderBy('lastSyncedAt');
}

/** Active subscriptions last synced before `cutoff` (index: status + lastSyncedAt). */
export function syncedBefore(db: Firestore, cutoff: number): Query<SubscriptionDoc> {
  return upTo(subscriptions(db).where('status', '==', 'active'), 'lastSyncedAt', '<', cutoff);
}

/** Active subscriptions that never completed a sync. */
export function neverSynced(db: Firestore): Query<SubscriptionDoc> {
  return subscriptions(db).where('status', '==', 'active').where('lastSyncedAt', '==', null);
}

/** Subscriptions whose occurrence window was last rolled before `cutoff` (single-field index). */
export function occurrencesRolledBefore(db: Firestore, cutoff: number): Query<SubscriptionDoc> {
  return upTo(subscriptions(db), 'occurrencesRolledAt', '<', cutoff);
}

/** Subscriptions whose occurrence window was never rolled. */
export function occurrencesNeverRolled(db: Firestore): Query<SubscriptionDoc> {
  return subscriptions(db).where('occurrencesRolledAt', '==', null);
}

/** Every subscription of one user (any status). */
export function subscriptionsOfUser(db: Firestore, uid: string): Query<SubscriptionDoc> {
  return subscriptions(db).where('uid', '==', uid);
}

/** Every subscription, in document id order (CLI status). */
export function allSubscriptions(db: Firestore): Query<SubscriptionDoc> {
  return subscriptions(db);
}
