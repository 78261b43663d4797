// Integration: renew 1,000 near-expiry subscriptions with two overlapping runs — none lapses, new before stop, no duplicates.
import { Timestamp } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCalendarApi } from '../../../functions/calendar/client.js';
import { signChannelToken } from '../../../functions/channels/token.js';
import { newSubscriptionDoc } from '../../../functions/channels/subscription.js';
import { encryptToken } from '../../../functions/credentials/crypto.js';
import { subscriptionIdFor } from '../../../functions/ids.js';
import { renewChannelsCore } from '../../../functions/renewal/core.js';
import { paths, type SubscriptionDoc } from '../../../functions/store/schema.js';
import { emulatorsMissing } from '../../harness/env.js';
import { createWorld, type World } from '../channels/world.js';

const N = 1000;
const DAY = 24 * 3600 * 1000;
const TTL_S = 7 * 24 * 3600;

async function pool<T>(items: T[], limit: number, fn: (t: T) => Promise<void>) {
  let i = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }),
  );
}

describe.skipIf(emulatorsMissing() !== '')('renewal of 1,000 subscriptions', () => {
  let w: World;
  const users = Array.from({ length: N }, (_, i) => ({
    uid: `u${i}`,
    email: `u${i}@bulk.example.com`,
    token: `1//bulk-refresh-${i}-abcdefghij`,
  }));
  const oldChannel = new Map<string, string>(); // subscriptionId -> seeded channel id

  beforeAll(async () => {
    w = await createWorld(
      'bulk',
      {
        CALSYNC_CHANNEL_TTL_SECONDS: String(TTL_S),
        CALSYNC_RENEW_CONCURRENCY: '50',
      },
      { external: true },
    );
    // Users and their channels exist at Google (the simulator); documents are seeded in batches.
    await pool(users, 50, (u) => w.simc.createUser(u.email, u.token));
    const opened: {
      uid: string;
      email: string;
      sid: string;
      ch: { id: string; resourceId: string; expiration: number };
    }[] = [];
    await pool(users, 50, async (u) => {
      const api = createCalendarApi(w.config, u.token, { retryBudgetMs: 2000 });
      const sid = subscriptionIdFor(u.uid, u.email);
      const id = `seed-${u.uid}`;
      const ch = await api.watchEvents(u.email, {
        id,
        token: signChannelToken(w.config.channelSecrets.current, id, sid),
        address: w.config.webhookUrl,
        ttlSeconds: TTL_S,
      });
      opened.push({ uid: u.uid, email: u.email, sid, ch });
      oldChannel.set(sid, ch.id);
    });
    // Six and a half days later, every channel expires within the 24 h window.
    await w.advance(6.5 * DAY);
    const now = Date.now() + w.offset.ms;
    for (let i = 0; i < opened.length; i += 250) {
      const batch = w.db.batch();
      for (const o of opened.slice(i, i + 250)) {
        const sealed = encryptToken(w.config.tokenKeys, users[Number(o.uid.slice(1))]!.token);
        batch.set(w.db.doc(paths.credentials(o.uid)), {
          uid: o.uid,
          refreshTokenCiphertext: sealed.ciphertext,
          keyId: sealed.keyId,
          scopes: [],
          status: 'valid',
          updatedAt: Timestamp.fromMillis(now),
        });
        const record = {
          id: o.ch.id,
          resourceId: o.ch.resourceId,
          expiration: Timestamp.fromMillis(o.ch.expiration),
          createdAt: Timestamp.fromMillis(now - 6.5 * DAY),
        };
        const doc: SubscriptionDoc = {
          ...newSubscriptionDoc(o.uid, o.email, now - 6.5 * DAY),
          syncToken: 'seeded',
          lastSyncedAt: Timestamp.fromMillis(now),
          channel: record,
          channelExpiresAt: record.expiration,
        };
        batch.set(w.db.doc(paths.subscription(o.sid)), doc);
      }
      await batch.commit();
    }
    await w.simc.clearRequests();
  }, 180_000);

  afterAll(async () => {
    await w?.close();
  });

  it('two overlapping runs renew each channel exactly once, new before stop, and none lapses', async () => {
    const started = Date.now();
    const cpu = process.cpuUsage();
    const [a, b] = await Promise.all([
      renewChannelsCore({ ...w.deps(), holderId: 'run-a' }),
      process.env.BULK_SINGLE
        ? Promise.resolve({ renewed: 0, recovered: 0, failed: [], remaining: 0 })
        : renewChannelsCore({ ...w.deps(), holderId: 'run-b' }),
    ]);
    const seconds = (Date.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    console.log(
      `cpu user ${(used.user / 1e6).toFixed(1)} s, system ${(used.system / 1e6).toFixed(1)} s`,
    );
    console.log(
      `renewed ${a.renewed} + ${b.renewed} of ${N} subscriptions with two overlapping runs in ${seconds.toFixed(1)} s`,
    );
    expect(a.failed).toEqual([]);
    expect(b.failed).toEqual([]);
    expect(a.renewed + b.renewed).toBe(N);
    expect(a.recovered + b.recovered).toBe(0);
    expect(a.remaining + b.remaining).toBe(0);

    // Exactly one new channel per calendar, live; every seeded one stopped.
    const channels = await w.simc.channels();
    const byTarget = new Map<string, typeof channels>();
    for (const c of channels) byTarget.set(c.target, [...(byTarget.get(c.target) ?? []), c]);
    const docs = await w.db.collection('subscriptions').get();
    expect(docs.size).toBe(N);
    for (const d of docs.docs) {
      const s = d.data() as SubscriptionDoc;
      const mine = byTarget.get(s.calendarId) ?? [];
      expect(mine).toHaveLength(2);
      const seeded = mine.find((c) => c.id === oldChannel.get(d.id));
      const fresh = mine.find((c) => c.id !== oldChannel.get(d.id));
      expect(seeded?.stopped).toBe(true);
      expect(fresh?.stopped).toBe(false);
      expect(s.channel?.id).toBe(fresh?.id);
      expect(s.previousChannel?.id).toBe(seeded?.id);
      expect(s.channelExpiresAt?.toMillis()).toBe(fresh?.expiration);
      expect(s.renewalClaim).toBeNull();
    }

    // New before stop: per user, the successful watch precedes the stop in the request log.
    const log = await w.simc.requests();
    const firstWatch = new Map<string, number>();
    const stops = new Map<string, number>();
    log.forEach((r, i) => {
      if (!r.user) return;
      if (r.path.endsWith('/events/watch') && r.status === 200 && !firstWatch.has(r.user)) {
        firstWatch.set(r.user, i);
      }
      if (r.path.endsWith('/channels/stop') && r.status === 204) stops.set(r.user, i);
    });
    expect(stops.size).toBe(N);
    for (const [user, stopAt] of stops) expect(firstWatch.get(user)).toBeLessThan(stopAt);

    // A day later every seeded channel has expired, and no calendar is without a live channel.
    await w.advance(1 * DAY);
    const later = await w.simc.channels();
    const live = new Set(later.filter((c) => !c.stopped && !c.expired).map((c) => c.target));
    expect(live.size).toBe(N);
  }, 180_000);
});
