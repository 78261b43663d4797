// `connect --all`: watch a user's calendar list and reconcile subscriptions with it (connect added calendars, remove deleted ones).
import { Timestamp } from '@google-cloud/firestore';
import type { CalendarApi, CalendarInfo } from '../calendar/api.js';
import { classifyGoogleError } from '../calendar/errors.js';
import {
  calendarListWatchIdOf,
  calendarListWatchPath,
  newCalendarListWatchDoc,
  type CalendarListWatchDoc,
} from '../store/calendar-list-watches.js';
import { paths, type CredentialsDoc, type SubscriptionDoc } from '../store/schema.js';
import { subscriptionsOfUser } from '../store/subscriptions-query.js';
import { markCalendarRemoved } from '../sync/remove.js';
import { claimDocument, releaseClaim } from './claim.js';
import { channelNeed } from './decide.js';
import { syncDepsOf, UserApis, type AccountRef, type LifecycleDeps } from './deps.js';
import { ensureSubscriptionChannel, type ChannelOutcome } from './ensure.js';
import { channelTimes, rotateChannel } from './lifecycle.js';
import { markRevoked } from '../credentials/store.js';
import { upsertSubscription } from './subscription.js';

const ownerOf = (owner: string | AccountRef): AccountRef =>
  typeof owner === 'string' ? { uid: owner, accountId: null } : owner;

export interface ListOptions {
  holder: string;
  claimMs: number;
  apis: UserApis;
  signal?: AbortSignal;
}

export interface ReconcileOptions extends ListOptions {
  /**
   * Called for each calendar newly connected by the reconcile, after its subscription exists and
   * its channel is open: the CLI runs the first full sync inline, renewal / the worker enqueue it.
   */
  onConnected(subscriptionId: string, calendarId: string): Promise<void>;
}

export interface ReconcileResult {
  /** Calendar ids newly connected (or re-activated after removal). */
  added: string[];
  /** Calendar ids no longer in the list, marked removed. */
  removed: string[];
  /** Per added calendar, what happened to its channel. */
  channels: Record<string, ChannelOutcome['kind']>;
}

export type WatchOutcome =
  { kind: 'rotated' | 'not_needed' | 'busy' } | { kind: 'needs_reauth' | 'failed'; reason: string };

/** Creates the user's calendar-list watch document if missing, and opens / renews its channel when due. */
export async function ensureCalendarListWatch(
  deps: LifecycleDeps,
  owner: string | AccountRef,
  o: ListOptions,
): Promise<WatchOutcome> {
  const { db } = deps;
  const { account, watchId, path } = await watchOf(deps, owner);
  await db
    .doc(path)
    .create(newCalendarListWatchDoc(account.uid, deps.now(), account.accountId ?? null))
    .catch((err: unknown) => {
      if ((err as { code?: unknown }).code !== 6) throw err; // 6 = ALREADY_EXISTS
    });
  const now = deps.now();
  const need = (doc: CalendarListWatchDoc) =>
    channelNeed(
      {
        status: doc.status,
        mode: 'push',
        channel: channelTimes(doc.channel),
        lastNotificationAt: null,
      },
      now,
      deps.config,
    ) !== 'none';
  const claim = await claimDocument(db, path, o.holder, now, o.claimMs, need);
  if (claim.kind === 'busy') return { kind: 'busy' };
  if (claim.kind !== 'claimed') return { kind: 'not_needed' };
  const held = { released: false };
  try {
    return await rotateWatch(deps, { account, watchId, path }, o, held);
  } finally {
    if (!held.released) await releaseClaim(db, path, o.holder).catch(() => undefined);
  }
}

/** An account's calendar-list watch: its document id and path. */
interface WatchRef {
  account: AccountRef;
  watchId: string;
  path: string;
}

async function watchOf(deps: LifecycleDeps, owner: string | AccountRef): Promise<WatchRef> {
  const account = ownerOf(owner);
  const watchId = await calendarListWatchIdOf(deps.db, account);
  return { account, watchId, path: calendarListWatchPath(watchId) };
}

/** Under the watch's claim: rotates its channel; `held.released` once a write took the claim away. */
async function rotateWatch(
  deps: LifecycleDeps,
  { account, watchId, path }: WatchRef,
  o: ListOptions,
  held: { released: boolean },
): Promise<WatchOutcome> {
  const { db } = deps;
  const user = await o.apis.get(account);
  if (!user.ok) {
    if (user.reason !== 'failed') {
      await markWatchNeedsReauth(deps, path, user.message);
      held.released = true;
      return { kind: 'needs_reauth', reason: user.message };
    }
    return { kind: 'failed', reason: user.message };
  }
  const api = user.api;
  const result = await rotateChannel(
    {
      db,
      api,
      config: deps.config,
      logger: deps.logger.child({ uid: account.uid }),
      now: deps.now,
    },
    { path, tokenId: watchId, watch: (r, s) => api.watchCalendarList(r, s) },
    o.holder,
    o.signal,
  );
  if (result.kind === 'rotated') {
    held.released = true;
    if (result.stop === 'invalid_grant') {
      await markWatchNeedsReauth(deps, path, 'refresh token rejected');
      await markRevoked(db, account);
      return { kind: 'needs_reauth', reason: 'refresh token rejected' };
    }
    return { kind: 'rotated' };
  }
  if (result.kind === 'lost') {
    held.released = true;
    return { kind: 'failed', reason: 'claim lost' };
  }
  if (result.error.kind === 'invalid_grant') {
    o.apis.forget(account);
    await markRevoked(db, account);
    await markWatchNeedsReauth(deps, path, result.error.message);
    held.released = true;
    return { kind: 'needs_reauth', reason: result.error.message };
  }
  return { kind: 'failed', reason: `${result.error.kind}: ${result.error.message}` };
}

async function markWatchNeedsReauth(deps: LifecycleDeps, path: string, reason: string) {
  const at = Timestamp.fromMillis(deps.now());
  await deps.db.doc(path).update({
    status: 'needs_reauth',
    previousChannel: null,
    renewalClaim: null,
    lastError: { code: 'invalid_grant', reason, at },
    updatedAt: at,
  });
}

/** The address of an account (shown on calendars it connects), from its credentials. */
async function accountEmail(deps: LifecycleDeps, uid: string, accountId: string) {
  const snap = await deps.db.doc(paths.account(uid, accountId)).get();
  return (snap.data() as CredentialsDoc | undefined)?.email ?? null;
}

/** Every calendar in the user's list (all pages; hidden ones included, deleted ones not). */
async function listAll(api: CalendarApi, signal?: AbortSignal): Promise<CalendarInfo[]> {
  const out: CalendarInfo[] = [];
  let pageToken: string | undefined;
  do {
    const page = await api.listCalendarList(
      { showHidden: true, maxResults: 250, ...(pageToken ? { pageToken } : {}) },
      signal,
    );
    for (const item of page.items) {
      if (!item.id || item.deleted) continue;
      out.push({
        id: item.id,
        summary: item.summary ?? undefined,
        timeZone: item.timeZone ?? undefined,
      });
    }
    pageToken = page.nextPageToken;
  } while (pageToken);
  return out;
}

/**
 * Brings the user's subscriptions in line with their calendar list: connects calendars that are
 * in the list without an active subscription, marks removed (stopping channels, deleting data
 * unless configured to keep it) active ones that are no longer listed. Removal only happens after
 * a complete listing. Subscriptions waiting for re-authorisation are left alone.
 */
export async function reconcileCalendarList(
  deps: LifecycleDeps,
  owner: string | AccountRef,
  o: ReconcileOptions,
): Promise<ReconcileResult> {
  const { db } = deps;
  const { account, path: watchPath } = await watchOf(deps, owner);
  const { uid } = account;
  const accountId = account.accountId ?? null;
  const user = await o.apis.get(account);
  if (!user.ok) throw new Error(`cannot reconcile the calendar list: ${user.message}`);
  const listed = await listOrRevoke(deps, account, watchPath, user.api, o);
  const subs = (await subscriptionsOfUser(db, uid).get()).docs.map((d) => ({
    id: d.id,
    doc: d.data() as SubscriptionDoc,
  }));
  const result: ReconcileResult = { added: [], removed: [], channels: {} };
  await connectListed(deps, account, listed, subs, o, result);
  const listedIds = new Set(listed.map((c) => c.id));
  for (const s of subs) {
    if (listedIds.has(s.doc.calendarId)) continue;
    // Only this account's calendars: another account's list says nothing about them.
    if ((s.doc.accountId ?? null) !== accountId) continue;
    if (s.doc.status !== 'active' && s.doc.status !== 'error') continue;
    const why = 'no longer in the calendar list';
    await markCalendarRemoved(syncDepsOf(deps), s.id, s.doc, user.api, why);
    result.removed.push(s.doc.calendarId);
  }
  await db
    .doc(watchPath)
    .update({ lastReconciledAt: Timestamp.fromMillis(deps.now()) })
    .catch(() => undefined); // no watch document (reconcile without --all): nothing to stamp
  if (result.added.length > 0 || result.removed.length > 0) {
    const log = deps.logger.child({ uid, ...(accountId ? { accountId } : {}) });
    log.info('calendar list reconciled', { added: result.added, removed: result.removed });
  }
  return result;
}

/** The whole calendar list; a revoked grant marks the account and its watch on the way out. */
async function listOrRevoke(
  deps: LifecycleDeps,
  account: AccountRef,
  watchPath: string,
  api: CalendarApi,
  o: ReconcileOptions,
): Promise<CalendarInfo[]> {
  try {
    return await listAll(api, o.signal);
  } catch (err) {
    const info = classifyGoogleError(err);
    if (info.kind === 'invalid_grant') {
      o.apis.forget(account);
      await markRevoked(deps.db, account);
      await markWatchNeedsReauth(deps, watchPath, info.message).catch(() => undefined);
    }
    throw err;
  }
}

/** Connects each listed calendar without a live subscription (and retries an unfinished first sync of ours). */
async function connectListed(
  deps: LifecycleDeps,
  account: AccountRef,
  listed: CalendarInfo[],
  subs: { id: string; doc: SubscriptionDoc }[],
  o: ReconcileOptions,
  result: ReconcileResult,
): Promise<void> {
  const accountId = account.accountId ?? null;
  const byCalendar = new Map(subs.map((s) => [s.doc.calendarId, s]));
  const email = accountId ? await accountEmail(deps, account.uid, accountId) : null;
  for (const cal of listed) {
    const existing = byCalendar.get(cal.id);
    if (existing && existing.doc.status !== 'removed') {
      // Already subscribed (through this or another account of the user): nothing to add — unless
      // this account connected it before and its first sync never completed (failed, worker died).
      const unsynced = existing.doc.lastSyncedAt === null && !existing.doc.lease;
      const ours = (existing.doc.accountId ?? null) === accountId;
      if (unsynced && ours && existing.doc.status !== 'needs_reauth')
        await o.onConnected(existing.id, cal.id);
      continue;
    }
    const binding = accountId ? { accountId, email, takeOver: false } : undefined;
    const now = deps.now();
    const { subscriptionId, kept } = await upsertSubscription(
      deps.db,
      account.uid,
      cal,
      now,
      binding,
    );
    if (kept) continue;
    const outcome = await ensureSubscriptionChannel(deps, subscriptionId, {
      holder: o.holder,
      claimMs: o.claimMs,
      apis: o.apis,
      wanted: (n) => n === 'missing' || n === 'expired' || n === 'renew',
      ...(o.signal ? { signal: o.signal } : {}),
    });
    result.added.push(cal.id);
    result.channels[cal.id] = outcome.kind;
    if (outcome.kind === 'rotated' || outcome.kind === 'polling' || outcome.kind === 'skipped') {
      await o.onConnected(subscriptionId, cal.id);
    }
  }
}

/**
 * For the sync worker: a notification whose subscription id names a calendar-list watch (not a
 * subscription). Returns false when `watchId` is not one (the worker carries on with its own
 * "unknown subscription" path); true when handled — a stale channel is ignored, a current or
 * previous one triggers a reconcile, with first syncs handed to `onConnected` (enqueue them).
 */
export async function handleCalendarListNotification(
  deps: LifecycleDeps,
  message: { subscriptionId: string; channelId: string },
  onConnected: (subscriptionId: string, calendarId: string) => Promise<void>,
): Promise<boolean> {
  const snap = await deps.db.doc(calendarListWatchPath(message.subscriptionId)).get();
  if (!snap.exists) return false;
  const doc = snap.data() as CalendarListWatchDoc;
  const known = [doc.channel?.id, doc.previousChannel?.id].includes(message.channelId);
  if (!known || doc.status !== 'active') {
    deps.logger.info('calendar-list notification for a stale channel ignored', {
      watchId: message.subscriptionId,
      channelId: message.channelId,
    });
    return true;
  }
  await reconcileCalendarList(
    deps,
    { uid: doc.uid, accountId: doc.accountId ?? null },
    {
      holder: `worker:${message.channelId}`,
      claimMs: 2 * 60_000,
      apis: new UserApis(deps),
      onConnected,
    },
  );
  return true;
}
