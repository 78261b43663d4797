// Firestore layout (DESIGN.md "Firestore layout"): paths and the shapes of server-side documents (user-readable ones come from read-models/).
import type { Timestamp } from '@google-cloud/firestore';
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
  credentials: (uid: string) => `credentials/${uid}`,
} as const;

export const SUBSCRIPTIONS = 'subscriptions';
export const CREDENTIALS = 'credentials';

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
  pending: boolean;
  /**
   * Coalescing watermarks in Pub/Sub publishTime (ms; one service stamps every message, so no
   * clock-skew margin is needed): the newest message that found the lease busy since the holder
   * last looked (`pendingPublishedAt`), what the current run covers from its start — its own
   * message and the marks it consumed (`rerunCovers`) — and the newest publish time a completed
   * run provably covered (`coveredThrough`: any message published no later is acknowledged
   * without a call).
   */
  pendingPublishedAt?: number | null;
  rerunCovers?: number | null;
  coveredThrough?: number | null;
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

/** `users/{uid}/calendars/{calendarId}` — readable by the user (the read model, contract A). */
export type CalendarDoc = CalendarDocument<Timestamp>;

/** `…/events/{eventId}` — readable by the user: a live event or a tombstone (the read model). */
export type EventDoc = MirrorDocument<Timestamp>;
