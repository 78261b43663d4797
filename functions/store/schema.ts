// Firestore layout (DESIGN.md "Firestore layout"): paths and the shapes of server-side documents.
import type { Timestamp } from '@google-cloud/firestore';

export const paths = {
  user: (uid: string) => `users/${uid}`,
  calendar: (uid: string, calendarId: string) =>
    `users/${uid}/calendars/${encodeDocId(calendarId)}`,
  events: (uid: string, calendarId: string) =>
    `users/${uid}/calendars/${encodeDocId(calendarId)}/events`,
  event: (uid: string, calendarId: string, eventId: string) =>
    `users/${uid}/calendars/${encodeDocId(calendarId)}/events/${encodeDocId(eventId)}`,
  occurrences: (uid: string, calendarId: string) =>
    `users/${uid}/calendars/${encodeDocId(calendarId)}/occurrences`,
  subscription: (subscriptionId: string) => `subscriptions/${subscriptionId}`,
  credentials: (uid: string) => `credentials/${uid}`,
} as const;

export const SUBSCRIPTIONS = 'subscriptions';
export const CREDENTIALS = 'credentials';

/**
 * Calendar and event ids become document ids. Google's ids never contain `/`, but calendar ids
 * may contain `#` (holiday calendars) and are at most a few hundred bytes: only `/` and the
 * reserved `.`/`..`/`__x__` forms need escaping.
 */
export function encodeDocId(id: string): string {
  if (id === '.' || id === '..' || /^__.*__$/.test(id) || id.includes('/')) {
    return `~${Buffer.from(id, 'utf8').toString('base64url')}`;
  }
  return id;
}

export type SyncStatus = 'active' | 'needs_reauth' | 'error' | 'removed';
export type Mode = 'push' | 'poll';

/** One watch channel, as Google returned it from events.watch. */
export interface ChannelRecord {
  id: string;
  resourceId: string;
  /** Expiration Google returned (ms since epoch). */
  expiration: Timestamp;
  createdAt: Timestamp;
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
  /** The Google account this subscription syncs with (null: not bound yet). */
  accountId?: string | null;
  /** When renewChannels last rolled this calendar's occurrence window (daily); null = never. */
  occurrencesRolledAt?: Timestamp | null;
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

/** `credentials/{uid}` — server only. The refresh token is AES-256-GCM ciphertext. */
export interface CredentialsDoc {
  uid: string;
  /** base64(iv(12) | ciphertext | tag(16)). */
  refreshTokenCiphertext: string;
  keyId: string;
  scopes: string[];
  status: 'valid' | 'revoked';
  updatedAt: Timestamp;
}

/** `users/{uid}/calendars/{calendarId}` — readable by the user. */
export interface CalendarDoc {
  calendarId: string;
  summary: string | null;
  timeZone: string | null;
  sync: {
    status: SyncStatus;
    mode: Mode;
    lastSyncedAt: Timestamp | null;
    lastError: { code: string; reason: string; at?: Timestamp } | null;
    /** While status is `error`: the next automatic retry. */
    nextRetryAt?: Timestamp | null;
    /** Items stored trimmed or as stubs (event documents with `calsync.quarantine`). */
    quarantined?: number;
    /** The Google account (email) the calendar syncs with. */
    account?: string;
  };
  /** Live events, and tombstones (cancelled exceptions of live series) kept beside them. */
  counts: { events: number; tombstones?: number };
}
