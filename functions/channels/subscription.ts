// Subscription documents for the channel lifecycle: create or re-activate, polling-mode switch, needs_reauth, calendar doc.
import { Timestamp, type Firestore } from '@google-cloud/firestore';
import type { CalendarInfo } from '../calendar/api.js';
import { markRevoked } from '../credentials/store.js';
import { subscriptionIdFor } from '../ids.js';
import {
  newChannelOwner,
  paths,
  type Mode,
  type SubscriptionDoc,
  type SyncStatus,
} from '../store/schema.js';
import { setTerminalStatus } from '../store/subscriptions.js';

export function newSubscriptionDoc(
  uid: string,
  calendarId: string,
  now: number,
  accountId: string | null = null,
): SubscriptionDoc {
  return {
    ...newChannelOwner(uid, accountId, now),
    calendarId,
    mode: 'push',
    syncToken: null,
    fullSyncTimeMin: null,
    lease: null,
    pending: false,
    fullSyncRequested: false,
    lastSyncStartedAt: null,
    lastSyncedAt: null,
    lastNotificationAt: null,
    lastMessageNumber: null,
    occurrencesRolledAt: null,
    stats: { syncs: 0, fullSyncs: 0, lastPages: 0, lastItems: 0, lastWrites: 0 },
  };
}

export interface UpsertResult {
  subscriptionId: string;
  created: boolean;
  /** The document as it is after the upsert. */
  doc: SubscriptionDoc;
  /**
   * The subscription stays bound to another Google account whose credentials still work: it was
   * left as it was (connecting a second account never rebinds the first account's calendars).
   */
  kept: boolean;
}

/** The account a subscription is being connected through, and whether it may take it over. */
export interface Binding {
  accountId: string;
  /** Shown on the calendar document (`sync.account`). */
  email: string | null;
  /**
   * May replace a binding to another account. Connect allows it only when that account's
   * credentials are gone, revoked or unreadable; a removed or needs_reauth subscription is
   * always taken over.
   */
  takeOver: boolean;
}

/**
 * Creates the subscription for (uid, calendar) or re-activates the existing one (idempotent: the
 * id is derived from uid and calendar id). A subscription coming back from `removed` or
 * `needs_reauth` gets a full sync, since its mirror may be stale or gone. A polling-mode one tries
 * push again (the caller opens a channel). With `binding`, the subscription is bound to that
 * Google account — unless it is bound to another account that still works (then `kept`).
 */
export async function upsertSubscription(
  db: Firestore,
  uid: string,
  calendar: CalendarInfo,
  now: number,
  binding?: Binding,
): Promise<UpsertResult> {
  const subscriptionId = subscriptionIdFor(uid, calendar.id);
  const ref = db.doc(paths.subscription(subscriptionId));
  const result = await db.runTransaction(async (tx) => {
    const snap = await tx.get(ref);
    if (!snap.exists) {
      const doc = newSubscriptionDoc(uid, calendar.id, now, binding?.accountId ?? null);
      tx.create(ref, doc);
      return { created: true, doc, kept: false };
    }
    const old = snap.data() as SubscriptionDoc;
    const revived = old.status !== 'active';
    const bound = old.accountId ?? null;
    const live = old.status === 'active' || old.status === 'error';
    if (binding && bound !== null && bound !== binding.accountId && live && !binding.takeOver) {
      return { created: false, doc: old, kept: true };
    }
    const patch = {
      status: 'active' as const,
      mode: 'push' as const,
      lastError: null,
      ...(binding ? { accountId: binding.accountId } : {}),
      ...(revived ? { fullSyncRequested: true } : {}),
      updatedAt: Timestamp.fromMillis(now),
    };
    tx.update(ref, patch);
    return { created: false, doc: { ...old, ...patch }, kept: false };
  });
  await writeCalendarDoc(db, uid, calendar.id, {
    summary: calendar.summary,
    timeZone: calendar.timeZone,
    ...(result.kept
      ? {}
      : {
          status: 'active',
          mode: result.doc.mode,
          lastError: null,
          ...(binding ? { account: binding.email ?? binding.accountId } : {}),
        }),
  });
  return { subscriptionId, ...result };
}

/** Merges the user-visible summary / status / mode into users/{uid}/calendars/{calendarId}. */
export async function writeCalendarDoc(
  db: Firestore,
  uid: string,
  calendarId: string,
  u: {
    status?: SyncStatus;
    mode?: Mode;
    summary?: string | undefined;
    timeZone?: string | undefined;
    lastError?: { code: string; reason: string } | null;
    /** The Google account (email) the calendar syncs with. */
    account?: string;
  },
): Promise<void> {
  const sync: Record<string, unknown> = {};
  if (u.status) sync.status = u.status;
  if (u.account !== undefined) sync.account = u.account;
  if (u.mode) sync.mode = u.mode;
  if (u.lastError !== undefined) sync.lastError = u.lastError;
  await db.doc(paths.calendar(uid, calendarId)).set(
    {
      calendarId,
      ...(u.summary !== undefined ? { summary: u.summary } : {}),
      ...(u.timeZone !== undefined ? { timeZone: u.timeZone } : {}),
      ...(Object.keys(sync).length > 0 ? { sync } : {}),
    },
    { merge: true },
  );
}

/** The calendar refuses push (holidays, birthdays): sync it by polling from now on. */
export async function switchToPolling(
  db: Firestore,
  subscriptionId: string,
  uid: string,
  calendarId: string,
  now: number,
): Promise<void> {
  await db.doc(paths.subscription(subscriptionId)).update({
    mode: 'poll',
    channel: null,
    channelExpiresAt: null,
    renewalClaim: null,
    updatedAt: Timestamp.fromMillis(now),
  });
  await writeCalendarDoc(db, uid, calendarId, { mode: 'poll' });
}

/**
 * invalid_grant (or no usable token, or credentials no key can decrypt): subscription and calendar
 * `needs_reauth` with the reason, renewal stops. The current channel record is kept so a re-connect with a new
 * grant of the same user can still stop it; the previous one is dropped.
 */
export async function markNeedsReauth(
  db: Firestore,
  subscriptionId: string,
  uid: string,
  now: number,
  reason: string,
  o: { code?: string; accountId?: string | null } = {},
): Promise<void> {
  const error = { code: o.code ?? 'invalid_grant', reason };
  // Only Google's invalid_grant revokes the stored token (of this account only); unreadable
  // credentials stay as they are, so restoring the key is still a way back.
  if (error.code === 'invalid_grant')
    await markRevoked(db, { uid, accountId: o.accountId ?? null });
  // Ends any live sync lease in the same commit (a running sync can then write nothing more).
  await setTerminalStatus(db, subscriptionId, 'needs_reauth', now, error);
  await db.doc(paths.subscription(subscriptionId)).update({
    previousChannel: null,
    renewalClaim: null,
    updatedAt: Timestamp.fromMillis(now),
  });
}

/** Records a renewal error on the subscription without changing its status. */
export async function recordChannelError(
  db: Firestore,
  path: string,
  now: number,
  error: { code: string; reason: string },
): Promise<void> {
  await db.doc(path).update({
    lastError: { ...error, at: Timestamp.fromMillis(now) },
    updatedAt: Timestamp.fromMillis(now),
  });
}
