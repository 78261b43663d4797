// Integration helpers for the sync worker: syncFixture() (simulator, user, real client, seeded subscription), deps, the mirror.
import { Timestamp, type DocumentData, type Firestore } from '@google-cloud/firestore';
import type { calendar_v3 } from '@googleapis/calendar';
import type { CalendarApiFactory } from '../../../functions/calendar/api.js';
import { calendarApiFactory } from '../../../functions/calendar/client.js';
import type { TokenKeys } from '../../../functions/config.js';
import { tokenKey } from '../../fixtures/keys.js';
import { newSubscriptionDoc } from '../../../functions/channels/subscription.js';
import { saveCredentials } from '../../../functions/credentials/store.js';
import { subscriptionIdFor } from '../../../functions/ids.js';
import { createLogger } from '../../../functions/log.js';
import {
  paths,
  type ChannelRecord,
  type SubscriptionDoc,
} from '../../../functions/store/schema.js';
import type { SyncConfig, SyncDeps, SyncHooks } from '../../../functions/sync/deps.js';
import type { NotificationMessage, ResyncMessage } from '../../../functions/messages.js';
import {
  firestoreFixture,
  hooksFor,
  simulatorUserFixture,
  slot,
  type SimulatorUser,
} from '../../harness/fixtures.js';
import type { SimulatorOptions } from '../../simulator/index.js';
import { googleEvents, mirrorDocuments } from '../../harness/google-truth.js';
import { expect } from 'vitest';

export const TOKEN_KEYS: TokenKeys = { current: tokenKey(42), previous: undefined };

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
    ...newSubscriptionDoc(uid, calendarId, now.toMillis()),
    channel,
    channelExpiresAt: channel?.expiration ?? null,
    ...opts.subscription,
  };
  await db.doc(paths.subscription(subscriptionId)).set(sub);
  return { uid, calendarId, subscriptionId, refreshToken };
}

export async function readSub(db: Firestore, subscriptionId: string): Promise<SubscriptionDoc> {
  return (await db.doc(paths.subscription(subscriptionId)).get()).data() as SubscriptionDoc;
}

/** The mirror: event id → stored document. */
export const mirror = (db: Firestore, uid: string, calendarId: string) =>
  mirrorDocuments(db, uid, calendarId);

/** id → etag, for comparing the mirror with Google. */
export function etags(map: Map<string, { etag?: unknown }>): Record<string, unknown> {
  return Object.fromEntries([...map].map(([id, v]) => [id, v.etag]).sort());
}

/** Google's X-Goog-Message-Number increases per channel: each notification built here gets a new one. */
let messageNumbers = 1;

/** A notification message as the webhook publishes it (received now unless `over` says). */
export function notification(
  s: Seeded,
  channel: { id: string; resourceId: string },
  over: Partial<NotificationMessage> = {},
): { data: NotificationMessage; publishTime: string; messageId: string } {
  const data: NotificationMessage = {
    v: 1,
    kind: 'notification',
    subscriptionId: s.subscriptionId,
    channelId: channel.id,
    resourceId: channel.resourceId,
    state: 'exists',
    messageNumber: ++messageNumbers,
    receivedAt: new Date().toISOString(),
    ...over,
  };
  return {
    data,
    publishTime: data.receivedAt,
    messageId: `m-${Math.random().toString(36).slice(2)}`,
  };
}

/** A resync request as the CLI or the safety net publishes it (requested now unless `over` says). */
export function resync(
  s: Seeded,
  over: Partial<ResyncMessage> = {},
): { data: ResyncMessage; publishTime: string } {
  const requestedAt = over.requestedAt ?? new Date().toISOString();
  const base = { v: 1, kind: 'resync', subscriptionId: s.subscriptionId } as const;
  return {
    data: { ...base, reason: 'manual', full: false, requestedAt, ...over },
    publishTime: requestedAt,
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

/** Sync hooks that kill the run after page `page` (0-based) was written: a worker dying mid-listing. */
export function crashAfterPage(page: number, message: string): SyncHooks {
  return {
    afterPage(i) {
      if (i === page) throw new Error(message);
    },
  };
}

export interface Channel {
  id: string;
  resourceId: string;
}

export interface SyncFixtureOptions {
  /** Names the Firestore project, the simulator user (`${name}${n}@example.com`) and the uid. */
  name: string;
  /** Simulator options; the rate limit defaults to one no test reaches. */
  simulator?: SimulatorOptions;
  /** The primary calendar's zone. */
  timeZone?: string;
  /**
   * The subscription's channel: none (default), a fixed one, or 'watch' — a real channel opened on
   * the simulator (its notifications go nowhere), so that stopping it can be observed.
   */
  channel?: Channel | 'watch';
  /** A fresh simulator, user and subscription for every test (default) or one for the file. */
  scope?: 'file' | 'test';
}

type DepsOverrides = Parameters<typeof testDeps>[2];

export interface SyncFixture extends SimulatorUser {
  readonly projectId: string;
  readonly db: Firestore;
  /** What connect leaves behind for the user's primary calendar (credentials, subscription). */
  readonly seeded: Seeded;
  /** The seeded subscription's channel ('watch': the one the simulator opened). */
  readonly channel: Channel;
  /** Worker deps on this Firestore and simulator, with log capture. */
  deps(over?: DepsOverrides): SyncDeps & LogSink;
  /** The subscription document as stored now. */
  readSub(): Promise<SubscriptionDoc>;
  /** The calendar document (contract A) as stored now. */
  calendarDoc(): Promise<DocumentData | undefined>;
  /** The mirror: event id → stored document. */
  mirror(): Promise<Map<string, DocumentData>>;
  /** Asserts the mirror holds exactly Google's events at Google's etags; returns the mirror. */
  sameAsGoogle(): Promise<Map<string, DocumentData>>;
  /** A notification for the seeded subscription on its channel. */
  notification(over?: Partial<NotificationMessage>): ReturnType<typeof notification>;
}

/**
 * The sync worker's world, set up once for a test file: Firestore on the emulator, the simulator
 * with a user and a real Calendar client, and a subscription seeded for the user's primary calendar.
 * Call it inside the `describe`; its hooks run before the file's own.
 */
export function syncFixture(opts: SyncFixtureOptions): SyncFixture {
  const fs = firestoreFixture(opts.name);
  const user = simulatorUserFixture({
    name: opts.name,
    simulator: { rateLimitPerMinute: 1_000_000, ...opts.simulator },
    timeZone: opts.timeZone,
    scope: opts.scope,
  });
  const seeded = slot<{ seeded: Seeded; channel: Channel | undefined }>('the seeded subscription');
  const { before, after } = hooksFor(opts.scope ?? 'test');
  before(async () => {
    const channel = opts.channel === 'watch' ? await watch(user) : opts.channel;
    const s = await seedSubscription(fs.db, {
      uid: `${opts.name}-u${user.n}`,
      calendarId: user.email,
      refreshToken: user.refreshToken,
      channel,
    });
    seeded.set({ seeded: s, channel });
  });
  after(() => seeded.set(undefined));
  // The simulator user's getters (sim, ctl, cal, email, …) are inherited, not copied: they read the
  // current test's values.
  const f: SyncFixture = Object.create(user, {
    projectId: { get: () => fs.projectId },
    db: { get: () => fs.db },
    seeded: { get: () => seeded.get().seeded },
    channel: {
      get() {
        const { channel } = seeded.get();
        if (!channel) throw new Error('this syncFixture was made without a channel');
        return channel;
      },
    },
  }) as SyncFixture;
  f.deps = (over = {}) => testDeps(fs.db, user.sim.url, over);
  f.readSub = () => readSub(fs.db, f.seeded.subscriptionId);
  f.calendarDoc = async () =>
    (await fs.db.doc(paths.calendar(f.seeded.uid, f.seeded.calendarId)).get()).data();
  f.mirror = () => mirror(fs.db, f.seeded.uid, f.seeded.calendarId);
  f.sameAsGoogle = async () => {
    const [m, g] = await Promise.all([f.mirror(), googleEvents(user.cal, f.seeded.calendarId)]);
    expect(etags(m)).toEqual(etags(g));
    return m;
  };
  f.notification = (over = {}) => notification(f.seeded, f.channel, over);
  return f;
}

/** Opens a real channel on the simulator for the user's primary calendar. */
async function watch(user: SimulatorUser): Promise<Channel> {
  const { data } = await user.cal.events.watch({
    calendarId: user.email,
    requestBody: { id: `ch-${user.n}`, type: 'web_hook', address: 'http://127.0.0.1:9/hook' },
  });
  return { id: data.id!, resourceId: data.resourceId! };
}
