// Firestore layout (DESIGN.md "Firestore layout"): paths and the shapes of server-side documents (user-readable ones come from read-models/).
import { Timestamp } from '@google-cloud/firestore';
import {
  calendarPath,
  encodeDocId,
  eventPath,
  eventsPath,
  occurrencesPath,
} from '../read-models/paths.js';
import type {
  CalendarDocument,
  MirrorDocument,
  SyncMode,
  SyncStatus,
} from '../read-models/types.js';

export const paths = {
  user: (uid: string) => `users/${uid}`,
  calendar: calendarPath,
  events: eventsPath,
  event: eventPath,
  occurrences: occurrencesPath,
  subscription: (subscriptionId: string) => `subscriptions/${subscriptionId}`,
  /** Legacy: the one credential of a user before Google accounts were bound (migrated away). */
  credentials: (uid: string) => `credentials/${uid}`,
  /** One Google account of a user: `credentials/{uid}/accounts/{accountId}`. */
  account: (uid: string, accountId: string) =>
    `credentials/${uid}/${CREDENTIAL_ACCOUNTS}/${encodeDocId(accountId)}`,
  accounts: (uid: string) => `credentials/${uid}/${CREDENTIAL_ACCOUNTS}`,
} as const;

export const SUBSCRIPTIONS = 'subscriptions';
export const CREDENTIALS = 'credentials';
/** Collection (group) of per-account credentials under credentials/{uid}. */
export const CREDENTIAL_ACCOUNTS = 'accounts';

export { encodeDocId };

export type { SyncStatus };
export type Mode = SyncMode;

/** One watch channel, as Google returned it from events.watch. */
export interface ChannelRecord {
  id: string;
  resourceId: string;
  /** Expiration Google returned (ms since epoch). */
  expiration: Timestamp;
  createdAt: Timestamp;
  /** 2: the channel's token is v2 (expiry inside the MAC); absent: a v1 token (before v2). */
  tokenVersion?: 2;
}

/**
 * What every document that owns a channel (a subscription, a calendar-list watch) starts with:
 * active, bound to `accountId`, no channel yet, no claim, no error.
 */
export function newChannelOwner(uid: string, accountId: string | null, now: number) {
  const t = Timestamp.fromMillis(now);
  return {
    uid,
    accountId,
    status: 'active' as const,
    channel: null,
    previousChannel: null,
    channelExpiresAt: null,
    renewalClaim: null,
    lastError: null,
    createdAt: t,
    updatedAt: t,
  };
}

export interface Lease {
  holder: string;
  expiresAt: Timestamp;
  /** Incremented at every acquisition; a commit must see its own fence still in place. */
  fence: number;
}

export interface LastError {
  code: string;
  reason: string;
  at: Timestamp;
}

/** `subscriptions/{subscriptionId}` — server only. */
export interface SubscriptionDoc {
  uid: string;
  calendarId: string;
  /**
   * The Google account whose credentials sync this calendar (contract C). null or absent: a
   * legacy subscription, bound to the user's only account on first use (or by the migration).
   */
  accountId?: string | null;
  status: SyncStatus;
  mode: Mode;
  /** The stored nextSyncToken; null until the first full sync committed, or after a 410. */
  syncToken: string | null;
  /** `timeMin` used by the full sync that produced syncToken (repeated on later full syncs). */
  fullSyncTimeMin: string | null;
  lease: Lease | null;
  /** The highest fence ever handed out (fences never repeat, even after a release). */
  lastFence?: number;
  /** Something asked for a sync while the lease was held: the holder runs once more. */
  pending: boolean;
  /**
   * Coalescing by Google's own per-channel counter (X-Goog-Message-Number), no clocks involved:
   * `seenMessages[channelId]` is the highest message number the worker has received,
   * `runCovers` what the current run captured when it started listing (every message received
   * before that is covered by its listing), and `coveredMessages[channelId]` what completed runs
   * covered — a message numbered at or below it is acknowledged without a call. Kept for the
   * current and previous channel only (numbering restarts with each channel).
   */
  seenMessages?: Record<string, number>;
  runCovers?: Record<string, number> | null;
  coveredMessages?: Record<string, number>;
  /** When the last events.list sequence started (the minimum interval between two is kept from it). */
  lastListStartedAt?: Timestamp | null;
  /** Notifications received (new message numbers) since the last listing began. */
  notifiedSinceListing?: number;
  /**
   * Visibility lag (decision 007): the latest time by which a noted notification was surely
   * received — min(worker's first sight, webhook receipt + clock margin). A listing that starts
   * CALSYNC_RECHECK_MS after it lists every change that became listable within that delay;
   * `runReceiptAt` is its value when the current listing began.
   */
  newestReceiptAt?: Timestamp | null;
  runReceiptAt?: Timestamp | null;
  /** The first notification since the last listing that is not a straggler of it: the next listing settles from it. */
  urgentAt?: Timestamp | null;
  /** A full sync was requested (CLI `resync --full`), done by the next worker run. */
  fullSyncRequested: boolean;
  /** Start time of the last sync that completed (token committed). */
  lastSyncStartedAt: Timestamp | null;
  lastSyncedAt: Timestamp | null;
  channel: ChannelRecord | null;
  previousChannel: ChannelRecord | null;
  /** Mirror of channel.expiration for the renewal query (null when there is no channel). */
  channelExpiresAt: Timestamp | null;
  lastNotificationAt: Timestamp | null;
  lastMessageNumber: number | null;
  /** Renewal claim (holder, until) so two overlapping renewChannels runs never both renew. */
  renewalClaim: { holder: string; until: Timestamp } | null;
  lastError: LastError | null;
  /** Failed syncs in a row (reset by a completed sync); drives the `error` status and its backoff. */
  failures?: number;
  /** While `error`: when the scheduled run retries it next (exponential, capped). */
  nextRetryAt?: Timestamp | null;
  /** When this calendar's occurrence window was last rolled (daily, by the worker); null = never. */
  occurrencesRolledAt?: Timestamp | null;
  /** When renewChannels last queued this calendar's roll (decision 011); absent = never. */
  occurrencesRollRequestedAt?: Timestamp | null;
  /**
   * A recompute of all-day times for a zone change began and was not committed yet (a worker that
   * dies midway leaves times of a zone the calendar document does not name): the next incremental
   * run recomputes them whatever the zones say. Cleared by the commit.
   */
  allDayZoneDirty?: boolean;
  /** The end of the window that roll left (the next roll computes only what starts after it). */
  occurrencesRolledThrough?: Timestamp | null;
  stats: {
    syncs: number;
    fullSyncs: number;
    lastPages: number;
    lastItems: number;
    lastWrites: number;
  };
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

/**
 * `credentials/{uid}/accounts/{accountId}` — server only; one per Google account of the user. The
 * refresh token is AES-256-GCM ciphertext whose associated data binds uid, accountId and keyId
 * (sealVersion 2). A legacy `credentials/{uid}` document (before accounts) has no accountId and
 * sealVersion 1; `npm run migrate:accounts` moves it (docs/decisions/005-google-accounts.md).
 */
export interface CredentialsDoc {
  uid: string;
  /** OpenID `sub` of the account, or `email:<address>` for a grant without `openid` (legacy). */
  accountId?: string;
  /** The account's address as Google reported it (shown in status and `sync.account`). */
  email?: string | null;
  /** How the account was identified: the id_token of the refresh grant, or the primary calendar. */
  identity?: 'openid' | 'primary-calendar';
  /** base64(iv(12) | ciphertext | tag(16)). */
  refreshTokenCiphertext: string;
  keyId: string;
  sealVersion?: 1 | 2;
  scopes: string[];
  /** `unreadable`: no configured key decrypts it (see `problem`); `revoked`: Google said invalid_grant. */
  status: 'valid' | 'revoked' | 'unreadable';
  problem?: string | null;
  createdAt?: Timestamp;
  updatedAt: Timestamp;
}

/** `users/{uid}/calendars/{calendarId}` — readable by the user (the read model, contract A). */
export type CalendarDoc = CalendarDocument<Timestamp>;

/** `…/events/{eventId}` — readable by the user: a live event or a tombstone (the read model). */
export type EventDoc = MirrorDocument<Timestamp>;
