// renewal.*: N subscriptions whose channels expire within the window, renewed by one POST to the real renewChannels target against the simulator.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Timestamp } from '@google-cloud/firestore';
import { createCalendarApi } from '../../functions/calendar/client.js';
import { newSubscriptionDoc } from '../../functions/channels/subscription.js';
import { signChannelToken } from '../../functions/channels/token.js';
import { encryptToken } from '../../functions/credentials/crypto.js';
import { subscriptionIdFor } from '../../functions/ids.js';
import { paths, type SubscriptionDoc } from '../../functions/store/schema.js';
import { startLocalStack } from '../stack/local-stack.js';
import {
  endpointOf,
  pool,
  round,
  stopFunctionsGently,
  type BenchContext,
  type BenchResult,
} from './lib.js';
import { benchRoll } from './roll.js';
import { benchWorld } from './world.js';

interface Summary {
  renewed: number;
  recovered: number;
  failed: unknown[];
  remaining: number;
  enqueued: number;
}

export async function benchRenewal(ctx: BenchContext): Promise<BenchResult> {
  // Issue 14.6: one scheduled run over 10,000 due subscriptions (1.8 M calendars, 7-day channels).
  const n = ctx.quick ? 100 : 10_000;
  // Notifications for the new channels (state `sync`) go to a sink: this benchmark is about renewChannels.
  const sink = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/webhook`;
  const stack = await startLocalStack({
    targets: ['renewChannels'],
    build: false,
    simulator: { notificationMaxAttempts: 1 },
    env: { CALSYNC_WEBHOOK_URL: sinkUrl, CALSYNC_LOG_LEVEL: 'WARNING' },
  });
  const world = await benchWorld(stack);
  try {
    ctx.log(`renewal: seeding ${n} users with channels expiring in 12 h`);
    const users = Array.from({ length: n }, (_, i) => ({
      uid: `r${i}`,
      email: `r${i}@renew.calsync.test`,
      token: `1//bench-renew-${i}-abcdefgh`,
    }));
    const now = Date.now();
    const docs: {
      uid: string;
      email: string;
      token: string;
      sid: string;
      ch: SubscriptionDoc['channel'];
    }[] = [];
    await pool(users, 40, async (u) => {
      await stack.simClient.createUser(u.email, u.token);
      const sid = subscriptionIdFor(u.uid, u.email);
      const id = `seed-${u.uid}`;
      const ch = await createCalendarApi(world.config, u.token, {
        retryBudgetMs: 5000,
      }).watchEvents(u.email, {
        id,
        token: signChannelToken(world.config.channelSecrets.current, id, sid),
        address: sinkUrl,
        ttlSeconds: 12 * 3600,
      });
      docs.push({
        ...u,
        sid,
        ch: {
          id: ch.id,
          resourceId: ch.resourceId,
          expiration: Timestamp.fromMillis(ch.expiration),
          createdAt: Timestamp.fromMillis(now),
        },
      });
    });
    for (let i = 0; i < docs.length; i += 200) {
      const batch = world.db.batch();
      for (const d of docs.slice(i, i + 200)) {
        const sealed = encryptToken(world.config.tokenKeys, d.token);
        batch.set(world.db.doc(paths.credentials(d.uid)), {
          uid: d.uid,
          refreshTokenCiphertext: sealed.ciphertext,
          keyId: sealed.keyId,
          scopes: [],
          status: 'valid',
          updatedAt: Timestamp.fromMillis(now),
        });
        const sub: SubscriptionDoc = {
          ...newSubscriptionDoc(d.uid, d.email, now - 6 * 86_400_000),
          syncToken: 'seeded',
          lastSyncedAt: Timestamp.fromMillis(now),
          channel: d.ch,
          channelExpiresAt: d.ch?.expiration ?? null,
          // Rolled today: this run renews; the roll's cost is measured on its own (roll.*).
          occurrencesRolledAt: Timestamp.fromMillis(now),
        };
        batch.set(world.db.doc(paths.subscription(d.sid)), sub);
      }
      await batch.commit();
    }
    await stack.simClient.clearRequests();

    ctx.log(`renewal: one renewChannels run over ${n} subscriptions`);
    const t0 = performance.now();
    // node:http, not fetch: fetch gives up after 300 s without response headers, and a run over
    // 10,000 subscriptions may use its whole 480 s budget before it answers.
    const res = await postLong(stack.urls.renewChannels, 900_000);
    const seconds = (performance.now() - t0) / 1000;
    const summary = JSON.parse(res.body) as Summary;
    if (res.status !== 200) throw new Error(`renewChannels answered ${res.status}`);

    // Lapsed: a calendar left without a live channel that outlives the renewal window, or whose
    // stored channel is not that live one.
    const simNow = await stack.simClient.now();
    const live = new Map<string, string>();
    for (const c of await stack.simClient.channels()) {
      if (!c.stopped && c.expiration > simNow + world.config.renewWindowMs)
        live.set(c.target, c.id);
    }
    const subs = new Map(
      (await world.db.collection('subscriptions').get()).docs.map((x) => [x.id, x.data()]),
    );
    let lapsed = 0;
    for (const d of docs) {
      const s = subs.get(d.sid) as SubscriptionDoc | undefined;
      if (!s?.channel || live.get(d.email) !== s.channel.id) lapsed++;
    }
    const calls = new Map<string, number>();
    for (const r of await stack.simClient.requests()) {
      const e = endpointOf(r);
      calls.set(e, (calls.get(e) ?? 0) + 1);
    }
    // The daily occurrence roll, measured on the same emulator after the renewal run.
    const roll = await benchRoll(ctx, world.db).catch((err: unknown) => {
      ctx.log(`roll failed: ${String(err)}`);
      return { values: {}, notes: [`roll: FAILED: ${String(err)}`] };
    });
    return {
      values: {
        ...roll.values,
        'renewal.subscriptions': n,
        'renewal.seconds': round(seconds, 1),
        'renewal.lapsed': lapsed,
      },
      notes: [
        `summary: renewed ${summary.renewed}, recovered ${summary.recovered}, failed ${summary.failed.length}, remaining ${summary.remaining}, enqueued ${summary.enqueued}; concurrency ${world.config.renewConcurrency}, paced at ${world.config.renewPerSecond}/s; ${round(n / seconds, 0)} subscriptions/s`,
        `API calls in the run: ${[...calls].map(([k, v]) => `${k} ${v}`).join(', ')}`,
        ...roll.notes,
      ],
    };
  } finally {
    await world.close();
    await stopFunctionsGently(stack);
    await stack.stop();
    sink.closeAllConnections();
    await new Promise<void>((r) => sink.close(() => r()));
  }
}

/** POST with an empty body; waits up to `timeoutMs` for the whole answer. */
export function postLong(
  url: string,
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
