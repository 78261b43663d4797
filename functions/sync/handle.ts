// One Pub/Sub message → one decision: validate, check the channel, skip what is covered, else runSync (a `roll` message: the day's occurrence roll).
import { Timestamp } from '@google-cloud/firestore';
import type { z } from 'zod';
import { loadRefreshToken } from '../credentials/store.js';
import { parseSyncMessage, type NotificationMessage, type SyncMessage } from '../messages.js';
import {
  claimStopAttempt,
  markRetiredStopped,
  readRetiredChannel,
} from '../store/retired-channels.js';
import { rollSubscriptionWindow } from '../occurrences/roll-subscription.js';
import { paths, type SubscriptionDoc } from '../store/schema.js';
import { readSubscription } from '../store/subscriptions.js';
import type { SyncDeps } from './deps.js';
import { runSync, type SyncResult } from './engine.js';
import { confirmCalendar, markCalendarRemoved } from './remove.js';

/** A delivered Pub/Sub message: the decoded JSON body plus Pub/Sub's metadata. */
export interface IncomingSyncMessage {
  /** The JSON-decoded `message.data` (undefined when it was not valid base64 JSON). */
  data: unknown;
  messageId?: string;
  /** RFC 3339 publish time set by Pub/Sub. */
  publishTime?: string;
}

export type HandleOutcome =
  | SyncResult['outcome']
  | 'malformed'
  | 'unknown_subscription'
  | 'stale_channel'
  /** A verified channel renewal may be storing right now (its claim is live): redelivered, never stopped. */
  | 'channel_in_flight'
  | 'resource_mismatch'
  | 'calendar_list'
  /** A `roll` message (decision 011): the window was rolled, or had been already this UTC day. */
  | 'rolled'
  | 'roll_current';

export interface HandleResult {
  outcome: HandleOutcome;
  sync?: SyncResult;
}

/**
 * Resolves when the message may be acknowledged (done, covered, or never fixable by a retry);
 * rejects when Pub/Sub should redeliver it.
 */
export async function handleSyncMessage(
  deps: SyncDeps,
  incoming: IncomingSyncMessage,
): Promise<HandleResult> {
  const base = deps.logger.child({
    ...(incoming.messageId ? { messageId: incoming.messageId } : {}),
  });
  let message: SyncMessage;
  try {
    message = parseSyncMessage(incoming.data);
  } catch (err) {
    base.error('malformed sync message acknowledged', { problems: describeProblems(err) });
    return { outcome: 'malformed' };
  }
  const logger = base.child({ subscriptionId: message.subscriptionId, kind: message.kind });
  const sub = await readSubscription(deps.db, message.subscriptionId);
  if (!sub) return unknownSubscription(deps, message, logger);
  if (message.kind === 'roll') return rollWindow(deps, message.subscriptionId, sub, logger);
  if (message.kind === 'resync') {
    const sync = await runSync(deps, message.subscriptionId, {
      full: message.full,
      trigger: message.reason,
      ...optional('publishedAt', latest(message.requestedAt, incoming.publishTime)),
      logger: base,
    });
    return { outcome: sync.outcome, sync };
  }
  const refused = await checkChannel(deps, sub, message, logger);
  if (refused) return { outcome: refused };
  await noteNotification(deps, message.subscriptionId, sub, message.messageNumber, logger);
  if (message.state === 'not_exists' && (await confirmedGone(deps, sub, message, logger))) {
    return { outcome: 'removed' };
  }
  const receivedAt = Date.parse(message.receivedAt);
  const sync = await runSync(deps, message.subscriptionId, {
    trigger: 'notification',
    notification: { channelId: message.channelId, messageNumber: message.messageNumber },
    ...optional('receivedAt', Number.isNaN(receivedAt) ? undefined : receivedAt),
    logger: base,
  });
  return { outcome: sync.outcome, sync };
}

/** A `roll` message: the calendar's daily occurrence roll, here in the worker (fanned out by renewal). */
async function rollWindow(
  deps: SyncDeps,
  subscriptionId: string,
  sub: SubscriptionDoc,
  logger: SyncDeps['logger'],
): Promise<HandleResult> {
  const now = (deps.clock ?? Date.now)();
  const rolled = await rollSubscriptionWindow(deps.db, subscriptionId, sub, now, {
    daysBack: deps.config.occurrenceDaysBack,
    daysAhead: deps.config.occurrenceDaysAhead,
    logger,
  });
  if (rolled.kind === 'not_kept') return { outcome: 'unknown_subscription' };
  if (rolled.kind === 'current') return { outcome: 'roll_current' };
  logger.info('occurrence window rolled', {
    incremental: rolled.stats.incremental,
    written: rolled.stats.writes,
    deleted: rolled.stats.deletes,
    expired: rolled.stats.expired,
  });
  return { outcome: 'rolled' };
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

async function unknownSubscription(
  deps: SyncDeps,
  message: SyncMessage,
  logger: SyncDeps['logger'],
): Promise<HandleResult> {
  if (
    message.kind === 'notification' &&
    deps.calendarListNotification &&
    (await deps.calendarListNotification(message))
  ) {
    return { outcome: 'calendar_list' };
  }
  logger.warn('message for an unknown subscription acknowledged');
  return { outcome: 'unknown_subscription' };
}

/** A notification from a channel the subscription does not know, or for another resource. */
async function checkChannel(
  deps: SyncDeps,
  sub: SubscriptionDoc,
  message: NotificationMessage,
  logger: SyncDeps['logger'],
): Promise<HandleOutcome | undefined> {
  const known = [sub.channel, sub.previousChannel].find((c) => c?.id === message.channelId);
  if (!known) return unknownChannel(deps, sub, message, logger);
  if (known.resourceId !== message.resourceId) {
    logger.warn('notification resource id does not match its channel; acknowledged', {
      channelId: message.channelId,
    });
    return 'resource_mismatch';
  }
  return undefined;
}

/**
 * `not_exists` is a hint, not a proof (DESIGN "Errors from Google"): a replayed or spurious one
 * must not wipe a mirror. Only when calendars.get confirms the calendar is gone (404/410) is it
 * removed; otherwise the notification is synced like `exists`.
 */
async function confirmedGone(
  deps: SyncDeps,
  sub: SubscriptionDoc,
  message: NotificationMessage,
  logger: SyncDeps['logger'],
): Promise<boolean> {
  if (sub.status === 'removed') return true;
  const token = await loadRefreshToken(deps.db, deps.config.tokenKeys, {
    uid: sub.uid,
    accountId: sub.accountId ?? null,
  }).catch(() => null);
  if (!token) return false; // the sync below records needs_reauth
  const api = deps.calendarApi(token, deps.apiOptions);
  const existence = await confirmCalendar(api, sub.calendarId);
  if (existence !== 'gone') {
    logger.warn('not_exists notification for a calendar Google still serves; syncing instead', {
      existence,
      channelId: message.channelId,
    });
    return false;
  }
  await markCalendarRemoved(
    deps,
    message.subscriptionId,
    sub,
    api,
    'resource not_exists (confirmed)',
  );
  return true;
}

/**
 * Whether the message must be redelivered rather than acknowledged. `busy` (another worker holds
 * the lease) has set `pending` (or found the running listing already covers it), but the holder
 * may be dead: acknowledging would leave the change to the safety net (Invariant 1). Redelivered,
 * the message is either covered by then (its message number at or below what the holder's run
 * covered) or takes over the lease once it expired — still O(1) `events.list` calls.
 */
export function mustRedeliver(result: HandleResult): boolean {
  return result.outcome === 'busy' || result.outcome === 'channel_in_flight';
}

/**
 * The later of the times a message carries: a message is skipped only when every clock says it
 * is older than the last completed sync (skipping wrongly loses a change until the safety net).
 */
function latest(...times: (string | undefined)[]): number | undefined {
  const ms = times.map((t) => (t ? Date.parse(t) : NaN)).filter((t) => !Number.isNaN(t));
  return ms.length > 0 ? Math.max(...ms) : undefined;
}

/** How often a live channel's "last heard of" time is written (renewal's silence rule is in days). */
const NOTIFICATION_MARK_MS = 10 * 60_000;

/** Records that the channel delivered, at most every NOTIFICATION_MARK_MS (renewal's silent-channel rule). */
async function noteNotification(
  deps: SyncDeps,
  subscriptionId: string,
  sub: { lastNotificationAt: { toMillis(): number } | null },
  messageNumber: number,
  logger: SyncDeps['logger'],
): Promise<void> {
  const now = (deps.clock ?? Date.now)();
  if (sub.lastNotificationAt && now - sub.lastNotificationAt.toMillis() < NOTIFICATION_MARK_MS)
    return;
  try {
    await deps.db.doc(paths.subscription(subscriptionId)).update({
      lastNotificationAt: Timestamp.fromMillis(now),
      lastMessageNumber: messageNumber,
    });
  } catch (err) {
    logger.warn('could not record the notification time', { error: err });
  }
}

/**
 * A verified notification on a channel the subscription does not hold (issue 15.2 / 13.4). Never
 * stops a channel that may be in flight: a channel calsync retired is stopped at most once (a
 * replay then costs one read); while a renewal claim is live the channel may be the one renewal
 * is storing, so the message is redelivered; any other channel is acknowledged and left to expire
 * (its v2 token stops verifying at the webhook after its expiry).
 */
async function unknownChannel(
  deps: SyncDeps,
  sub: SubscriptionDoc,
  message: { channelId: string; resourceId: string },
  logger: SyncDeps['logger'],
): Promise<'stale_channel' | 'channel_in_flight'> {
  const now = (deps.clock ?? Date.now)();
  const { channelId } = message;
  const retired = await readRetiredChannel(deps.db, channelId);
  if (!retired) {
    if (sub.renewalClaim && sub.renewalClaim.until.toMillis() > now) {
      logger.info('notification on a channel renewal may be storing; redelivering', { channelId });
      return 'channel_in_flight';
    }
    logger.warn('notification from an unknown channel acknowledged (not stopped)', { channelId });
    return 'stale_channel';
  }
  if (retired.stopped || !(await claimStopAttempt(deps.db, channelId, now))) {
    logger.info('notification from a retired channel acknowledged', { channelId });
    return 'stale_channel';
  }
  try {
    const token = await loadRefreshToken(deps.db, deps.config.tokenKeys, {
      uid: sub.uid,
      accountId: sub.accountId ?? null,
    });
    if (token) {
      await deps
        .calendarApi(token, { ...deps.apiOptions, retryBudgetMs: 0 })
        .stopChannel({ id: channelId, resourceId: retired.resourceId });
      await markRetiredStopped(deps.db, channelId);
      logger.info('retired channel stopped (once)', { channelId });
    }
  } catch (err) {
    logger.warn('could not stop a retired channel; it expires by itself', {
      channelId,
      error: err,
    });
  }
  return 'stale_channel';
}

/** Field paths and codes of a validation failure — never the values. */
function describeProblems(err: unknown): string[] {
  const issues = (err as { issues?: z.core.$ZodIssue[] }).issues;
  if (!Array.isArray(issues)) return [err instanceof Error ? err.name : 'invalid'];
  return issues.slice(0, 10).map((i) => `${i.path.join('.') || '(root)'}: ${i.code}`);
}
