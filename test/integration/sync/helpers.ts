// Integration helpers for the sync worker: seed a user + subscription + credentials, build deps, read the mirror.
import { Firestore, Timestamp } from '@google-cloud/firestore';
import type { calendar_v3 } from '@googleapis/calendar';
import type { CalendarApiFactory } from '../../../functions/calendar/api.js';
import { calendarApiFactory } from '../../../functions/calendar/client.js';
import { keyId, type TokenKeys } from '../../../functions/config.js';
import { saveCredentials } from '../../../functions/credentials/store.js';
import { subscriptionIdFor } from '../../../functions/ids.js';
import { createLogger } from '../../../functions/log.js';
import {
  paths,
  type ChannelRecord,
  type SubscriptionDoc,
} from '../../../functions/store/schema.js';
import type { SyncConfig, SyncDeps } from '../../../functions/sync/deps.js';
import type { NotificationMessage, ResyncMessage } from '../../../functions/messages.js';

export const TOKEN_KEYS: TokenKeys = (() => {
  const key = Buffer.alloc(32, 42);
  return { current: { id: keyId(key), key }, previous: undefined };
})();

/** Small values keep the suite fast: short lease, small retry budget, no skew margin surprises. */
export const TEST_CONFIG: SyncConfig = {
  maxResults: 2500,
  leaseMs: 10_000,
  retryBudgetMs: 2_000,
  clockSkewMs: 500,
  fullSyncDaysBack: undefined,
  keepDataOnRemove: false,
  tokenKeys: TOKEN_KEYS,
  // No pauses unless a test asks: settle window, minimum interval and re-check are tested on their own.
  settleMs: 0,
  minSyncIntervalMs: 0,
  recheckMs: 0,
};

export interface LogSink {
  lines: Record<string, unknown>[];
}

export function testDeps(
  db: Firestore,
  simUrl: string,
  overrides: Partial<Omit<SyncDeps, 'config'>> & {
    config?: Partial<SyncConfig>;
    googleTimeoutMs?: number;
  } = {},
): SyncDeps & LogSink {
  const lines: Record<string, unknown>[] = [];
  const config = { ...TEST_CONFIG, ...overrides.config };
  const logger = createLogger({
    level: 'DEBUG',
    write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  const calendarApi: CalendarApiFactory =
    overrides.calendarApi ??
    calendarApiFactory(
      {
        calendarApiUrl: `${simUrl}/`,
        oauth: {
          clientId: 'calsync-test-client',
          clientSecret: 'calsync-test-secret',
          tokenUrl: `${simUrl}/token`,
        },
        googleTimeoutMs: overrides.googleTimeoutMs ?? 5_000,
        retryBudgetMs: config.retryBudgetMs,
      },
      { baseMs: 20, capMs: 200 },
    );
  const { googleTimeoutMs: _timeout, ...rest } = overrides;
  return { db, logger, ...rest, config, calendarApi, lines };
}

export interface Seeded {
  uid: string;
  calendarId: string;
  subscriptionId: string;
  refreshToken: string;
}

/** What connect (another engineer's job) leaves behind: credentials, a subscription, a calendar doc. */
export async function seedSubscription(
  db: Firestore,
  opts: {
    uid: string;
    calendarId: string;
    refreshToken: string;
    channel?: { id: string; resourceId: string; expiration?: number };
    subscription?: Partial<SubscriptionDoc>;
  },
): Promise<Seeded> {
  const { uid, calendarId, refreshToken } = opts;
  const subscriptionId = subscriptionIdFor(uid, calendarId);
  const now = Timestamp.now();
  await saveCredentials(db, TOKEN_KEYS, uid, refreshToken, [
    'https://www.googleapis.com/auth/calendar.readonly',
  ]);
  const channel: ChannelRecord | null = opts.channel
    ? {
        id: opts.channel.id,
        resourceId: opts.channel.resourceId,
        expiration: Timestamp.fromMillis(opts.channel.expiration ?? Date.now() + 86_400_000),
        createdAt: now,
      }
    : null;
  const sub: SubscriptionDoc = {
    uid,
    calendarId,
    status: 'active',
    mode: 'push',
    syncToken: null,
    fullSyncTimeMin: null,
    lease: null,
    pending: false,
    fullSyncRequested: false,
    lastSyncStartedAt: null,
    lastSyncedAt: null,
    channel,
    previousChannel: null,
    channelExpiresAt: channel?.expiration ?? null,
    lastNotificationAt: null,
    lastMessageNumber: null,
    renewalClaim: null,
    lastError: null,
    stats: { syncs: 0, fullSyncs: 0, lastPages: 0, lastItems: 0, lastWrites: 0 },
    createdAt: now,
    updatedAt: now,
    ...opts.subscription,
  };
  await db.doc(paths.subscription(subscriptionId)).set(sub);
  return { uid, calendarId, subscriptionId, refreshToken };
}

export async function readSub(db: Firestore, subscriptionId: string): Promise<SubscriptionDoc> {
  return (await db.doc(paths.subscription(subscriptionId)).get()).data() as SubscriptionDoc;
}

/** The mirror: event id → { etag, status } (plus the raw document). */
export async function mirror(db: Firestore, uid: string, calendarId: string) {
  const snap = await db.collection(paths.events(uid, calendarId)).get();
  return new Map(
    snap.docs.map((d) => {
      const data = d.data();
      return [data.id as string, data];
    }),
  );
}

/** What Google holds, listed as calsync lists it (singleEvents=false, showDeleted=false). */
export async function googleState(cal: calendar_v3.Calendar, calendarId: string) {
  const out = new Map<string, calendar_v3.Schema$Event>();
  let pageToken: string | undefined;
  for (;;) {
    const { data } = await cal.events.list({
      calendarId,
      singleEvents: false,
      showDeleted: false,
      maxResults: 2500,
      ...(pageToken ? { pageToken } : {}),
    });
    for (const item of data.items ?? []) out.set(item.id!, item);
    if (!data.nextPageToken) return out;
    pageToken = data.nextPageToken;
  }
}

/** id → etag, for comparing the mirror with Google. */
export function etags(map: Map<string, { etag?: unknown }>): Record<string, unknown> {
  return Object.fromEntries([...map].map(([id, v]) => [id, v.etag]).sort());
}

/** Google's X-Goog-Message-Number increases per channel: each notification built here gets a new one. */
let messageNumbers = 1;

export function notification(
  s: Seeded,
  channel: { id: string; resourceId: string },
  over: Partial<NotificationMessage> = {},
): { data: NotificationMessage; publishTime: string; messageId: string } {
  const at = new Date().toISOString();
  return {
    data: {
      v: 1,
      kind: 'notification',
      subscriptionId: s.subscriptionId,
      channelId: channel.id,
      resourceId: channel.resourceId,
      state: 'exists',
      messageNumber: ++messageNumbers,
      receivedAt: at,
      ...over,
    },
    publishTime: over.receivedAt ?? at,
    messageId: `m-${Math.random().toString(36).slice(2)}`,
  };
}

export function resync(
  s: Seeded,
  over: Partial<ResyncMessage> = {},
): { data: ResyncMessage; publishTime: string } {
  const at = new Date().toISOString();
  return {
    data: {
      v: 1,
      kind: 'resync',
      subscriptionId: s.subscriptionId,
      reason: 'manual',
      full: false,
      requestedAt: at,
      ...over,
    },
    publishTime: over.requestedAt ?? at,
  };
}

/** Inserts `n` timed events with bounded concurrency; returns their ids. */
export async function insertMany(
  cal: calendar_v3.Calendar,
  calendarId: string,
  n: number,
  concurrency = 32,
): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  const base = Date.UTC(2026, 0, 5, 9);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const start = new Date(base + i * 3_600_000);
        const { data } = await cal.events.insert({
          calendarId,
          requestBody: {
            summary: `event ${i}`,
            start: { dateTime: start.toISOString() },
            end: { dateTime: new Date(start.getTime() + 1_800_000).toISOString() },
          },
        });
        ids.push(data.id!);
      }
    }),
  );
  return ids;
}

export function newFirestore(projectId: string): Firestore {
  return new Firestore({ projectId, ignoreUndefinedProperties: true });
}
