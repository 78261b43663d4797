// e2e.* (calendar change → Firestore listener through webhook, Pub/Sub push and syncWorker) and coalescing.* (100 concurrent notifications, one change).
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { PubSub } from '@google-cloud/pubsub';
import type { NotificationMessage } from '../../functions/messages.js';
import { paths, type SubscriptionDoc } from '../../functions/store/schema.js';
import { subscriptionIdFor } from '../../functions/ids.js';
import { startLocalStack, type LocalStack } from '../stack/local-stack.js';
import {
  calendarOf,
  percentile,
  round,
  startsListSequence,
  sleep,
  stopFunctionsGently,
  waitQuiet,
  waitUntil,
} from './lib.js';
import type { BenchContext, BenchResult } from './lib.js';
import { benchWorld, connectCalendar, eventBody, seedEvents, type BenchWorld } from './world.js';

interface WorkerLines {
  count: number;
  redelivered: number;
}

async function insert(
  stack: LocalStack,
  access: string,
  calendarId: string,
  body: Record<string, unknown>,
): Promise<string> {
  const res = await fetch(
    `${stack.sim.url}/calendar/v3/calendars/${encodeURIComponent(calendarId)}/events`,
    {
      method: 'POST',
      headers: { authorization: `Bearer ${access}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    },
  );
  const out = (await res.json()) as { id?: string };
  if (!res.ok || !out.id) throw new Error(`insert failed: ${res.status}`);
  return out.id;
}

/** A user with a few events, connected through calsync connect (full sync + channel). */
async function connectedUser(stack: LocalStack, world: BenchWorld, uid: string) {
  const email = `${uid}@calsync.test`;
  const token = `1//bench-${uid}-refresh`;
  await stack.simClient.createUser(email, token);
  const access = await stack.simClient.accessToken(token);
  await seedEvents(stack.sim.url, access, email, 20);
  await connectCalendar(world.deps(), uid, email, token);
  return { email, token, access };
}

async function e2e(ctx: BenchContext, stack: LocalStack, world: BenchWorld) {
  const n = ctx.quick ? 10 : 60;
  const u = await connectedUser(stack, world, 'e2e');
  await stack.sim.idle();
  const seen = new Map<string, number>();
  let attached = false;
  const unsubscribe = world.db.collection(paths.events('e2e', u.email)).onSnapshot((snap) => {
    attached = true;
    const t = performance.now();
    for (const c of snap.docChanges()) {
      const summary = c.doc.get('summary') as unknown;
      if (typeof summary === 'string' && !seen.has(summary)) seen.set(summary, t);
    }
  });
  await waitUntil(() => attached, 30_000);
  ctx.log(`e2e: ${n} changes, one at a time`);
  const latencies: number[] = [];
  let lost = 0;
  for (let i = 0; i < n; i++) {
    const summary = `e2e ${i} ${randomBytes(3).toString('hex')}`;
    const t0 = performance.now();
    await insert(stack, u.access, u.email, { ...eventBody(i, Date.now()), summary });
    if (await waitUntil(() => seen.has(summary), 30_000, 5)) {
      latencies.push((seen.get(summary) as number) - t0);
    } else {
      lost++;
    }
    await sleep(200);
  }
  unsubscribe();
  const deliveries = new Map<string, number>();
  for (const d of await stack.simClient.notifications()) {
    const key = `${d.state}:${String(d.status)}`;
    deliveries.set(key, (deliveries.get(key) ?? 0) + 1);
  }
  const slowest = [...latencies].sort((a, b) => b - a).slice(0, 3);

  // Reference floor: a direct Firestore write seen by a listener on the same emulator.
  const floor: number[] = [];
  const probe = world.db.collection('bench-floor');
  const floorSeen = new Map<string, number>();
  const unsubscribeFloor = probe.onSnapshot((snap) => {
    const t = performance.now();
    for (const c of snap.docChanges()) floorSeen.set(c.doc.id, t);
  });
  await sleep(300);
  for (let i = 0; i < 20; i++) {
    const id = `f${i}`;
    const t0 = performance.now();
    await probe.doc(id).set({ i });
    await waitUntil(() => floorSeen.has(id), 10_000, 2);
    floor.push((floorSeen.get(id) ?? NaN) - t0);
  }
  unsubscribeFloor();
  return { latencies, lost, floorP50: percentile(floor, 50), deliveries, slowest };
}

async function coalescing(stack: LocalStack, world: BenchWorld, workerLines: WorkerLines) {
  const burst = 100;
  const u = await connectedUser(stack, world, 'burst');
  const sid = subscriptionIdFor('burst', u.email);
  const sub = (await world.db.doc(paths.subscription(sid)).get()).data() as SubscriptionDoc;
  if (!sub.channel) throw new Error('the burst calendar has no channel');
  // Google's own notification for the change is dropped: the burst below stands for it.
  await stack.sim.idle();
  await stack.simClient.setDropRate(1);
  await sleep(500);
  await stack.simClient.clearRequests();
  const id = await insert(stack, u.access, u.email, {
    ...eventBody(1, Date.now()),
    summary: 'burst',
  });
  const receivedAt = new Date().toISOString();
  // Published to the real topic: the push subscription delivers them concurrently, and redelivers
  // what the worker does not acknowledge (a busy answer), as Pub/Sub does.
  const topic = new PubSub({ projectId: stack.projectId }).topic(stack.topic);
  await Promise.all(
    Array.from({ length: burst }, (_, i) => {
      const message: NotificationMessage = {
        v: 1,
        kind: 'notification',
        subscriptionId: sid,
        channelId: sub.channel?.id ?? '',
        resourceId: sub.channel?.resourceId ?? '',
        state: 'exists',
        messageNumber: 100 + i,
        receivedAt,
      };
      return topic.publishMessage({ data: Buffer.from(JSON.stringify(message), 'utf8') });
    }),
  );
  await waitUntil(() => workerLines.count > 0, 10_000);
  await waitQuiet(() => workerLines.count, 6000, 180_000); // Pub/Sub retry backoff is 1–5 s
  await topic.pubsub.close();
  await stack.simClient.setDropRate(0);
  const sequences = (await stack.simClient.requests()).filter(
    (r) => startsListSequence(r) && calendarOf(r) === u.email,
  ).length;
  const arrived = (await world.db.doc(paths.event('burst', u.email, id)).get()).exists;
  return { burst, sequences, arrived, failed: workerLines.redelivered };
}

export async function benchPipeline(ctx: BenchContext): Promise<BenchResult> {
  const workerLines: WorkerLines = { count: 0, redelivered: 0 };
  const stack = await startLocalStack({
    onLine: (target, line) => {
      if (target !== 'syncWorker') return;
      // CALSYNC_BENCH_TRACE=file: every worker line, to trace which messages cost a listing.
      if (process.env.CALSYNC_BENCH_TRACE)
        appendFileSync(process.env.CALSYNC_BENCH_TRACE, `${line}\n`);
      workerLines.count++;
      if (/redeliver/i.test(line)) workerLines.redelivered++;
    },
    targets: ['webhook', 'syncWorker'],
    build: false,
    simulator: { rateLimitPerMinute: 1_000_000, notificationRetryBaseMs: 200 },
  });
  const world = await benchWorld(stack);
  try {
    const e = await e2e(ctx, stack, world);
    ctx.log('coalescing: 100 concurrent notifications, one change');
    const c = await coalescing(stack, world, workerLines);
    const notes = [
      `e2e: ${e.latencies.length} changes measured${e.lost ? `, ${e.lost} NOT seen within 30 s` : ''}; reference floor (direct Firestore write → listener) p50 ${round(e.floorP50, 1)} ms; slowest ${e.slowest.map((x) => round(x, 0)).join(', ')} ms; webhook deliveries (state:status) ${[...e.deliveries].map(([k, v]) => `${k} ${v}`).join(', ')}`,
      `coalescing: naive worker = ${c.burst} sequences (one per notification); change arrived: ${c.arrived}; ${c.failed} worker log lines mention a redelivery (busy answers, redelivered by the push subscription and counted above)`,
    ];
    return {
      values: {
        'coalescing.notifications': c.burst,
        'coalescing.list_sequences': c.sequences,
        'e2e.p50_ms': round(percentile(e.latencies, 50), 0),
        'e2e.p99_ms': round(percentile(e.latencies, 99), 0),
      },
      notes,
    };
  } finally {
    await world.close();
    await stopFunctionsGently(stack);
    await stack.stop();
  }
}
