// full_sync.* and resync_410.*: the real syncWorker (functions-framework child) doing a first sync of a big calendar vs a plain batched write, then a 410 diffing resync.
import { join } from 'node:path';
import { upsertSubscription } from '../../functions/channels/subscription.js';
import { saveCredentials } from '../../functions/credentials/store.js';
import { subscriptionIdFor } from '../../functions/ids.js';
import type { ResyncMessage } from '../../functions/messages.js';
import { paths } from '../../functions/store/schema.js';
import { startLocalStack, type LocalStack } from '../stack/local-stack.js';
import {
  BENCH_DIR,
  childPidOf,
  deliver,
  lastJsonLine,
  memoryOf,
  pool,
  pushBody,
  round,
  runNode,
  sleep,
  startsListSequence,
  waitQuiet,
  waitUntil,
  type BenchContext,
  type BenchResult,
  stopFunctionsGently,
} from './lib.js';
import { benchWorld, seedEvents } from './world.js';

interface RawWrite {
  docs: number;
  results: { variant: string; docsPerS: number }[];
  maxRssMb: number;
}

function resync(subscriptionId: string, reason: ResyncMessage['reason']): ResyncMessage {
  return {
    v: 1,
    kind: 'resync',
    subscriptionId,
    reason,
    full: false,
    requestedAt: new Date().toISOString(),
  };
}

export async function benchSync(ctx: BenchContext): Promise<BenchResult> {
  const events = ctx.quick ? 1000 : 10_000;
  const pageSize = ctx.quick ? 250 : 2500;
  const changed = 10;
  const workerLines: Record<string, unknown>[] = [];
  const stack: LocalStack = await startLocalStack({
    targets: ['syncWorker'],
    build: false,
    simulator: { rateLimitPerMinute: 10_000_000 },
    env: { CALSYNC_MAX_RESULTS: String(pageSize) },
    onLine: (_t, line) => {
      if (!line.startsWith('{')) return;
      try {
        workerLines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        /* not a log line */
      }
    },
  });
  const world = await benchWorld(stack);
  const notes: string[] = [];
  try {
    const uid = 'big';
    const email = 'big@calsync.test';
    const refreshToken = '1//bench-big-refresh-token';
    await stack.simClient.createUser(email, refreshToken, { timeZone: 'Europe/Berlin' });
    const access = await stack.simClient.accessToken(refreshToken);
    ctx.log(`full_sync: seeding ${events} events into the simulator`);
    const ids = await seedEvents(stack.sim.url, access, email, events);
    await saveCredentials(world.db, world.config.tokenKeys, uid, refreshToken, []);
    await upsertSubscription(
      world.db,
      uid,
      { id: email, summary: email, timeZone: 'Europe/Berlin' },
      Date.now(),
    );
    const subscriptionId = subscriptionIdFor(uid, email);

    // First sync, through the worker's push endpoint; its process's peak RSS read from /proc.
    const shell = stack.processes.syncWorker?.child.pid;
    const pid = shell === undefined ? undefined : childPidOf(shell);
    if (pid === undefined) throw new Error('cannot find the syncWorker process');
    const before = memoryOf(pid);
    await stack.simClient.clearRequests();
    ctx.log(`full_sync: first sync of ${events} events (${pageSize} per page)`);
    const t0 = performance.now();
    const status = await deliver(
      stack.urls.syncWorker,
      stack.projectId,
      stack.topic,
      pushBody(stack.projectId, stack.subscription, resync(subscriptionId, 'connect'), 'm-full'),
    );
    const seconds = (performance.now() - t0) / 1000;
    const after = memoryOf(pid);
    if (status >= 300) throw new Error(`worker answered ${status} to the first sync`);
    const stored = (await world.db.collection(paths.events(uid, email)).count().get()).data().count;
    if (stored !== events) notes.push(`WARNING: ${stored} documents stored, expected ${events}`);
    const lists = (await stack.simClient.requests()).filter(
      (r) => r.path.endsWith('/events') && r.method === 'GET',
    ).length;
    // What each 30-id chunk of the occurrence refresh costs on this emulator (it has no indexes).
    const sample = ids.slice(0, 30);
    let q = performance.now();
    await world.db
      .collection(paths.events(uid, email))
      .where('recurringEventId', 'in', sample)
      .get();
    const inQueryMs = performance.now() - q;
    q = performance.now();
    await world.db.getAll(...sample.map((id) => world.db.doc(paths.event(uid, email, id))));
    const getAllMs = performance.now() - q;
    const syncLine = workerLines.find((l) => l.message === 'sync');
    notes.push(
      `worker's sync log: ${JSON.stringify(syncLine ? Object.fromEntries(Object.entries(syncLine).filter(([k]) => /writes|deletes|pages|items|durationMs|occurrence/i.test(k))) : null)}; ` +
        `on this emulator one \`in\` query (30 ids) over the ${events} events takes ${round(inQueryMs, 0)} ms, a getAll of 30 ${round(getAllMs, 0)} ms`,
    );
    notes.push(
      `first sync: ${round(seconds, 2)} s, ${lists} events.list pages; worker RSS ${round(before.rssMb, 0)} MiB idle → peak ${round(after.peakMb, 0)} MiB`,
    );

    ctx.log('full_sync: raw batched-write baseline (child process)');
    const raw = lastJsonLine<RawWrite>(
      await runNode(
        [
          '--import',
          'tsx',
          join(BENCH_DIR, 'raw-write.ts'),
          JSON.stringify({
            projectId: stack.projectId,
            source: paths.events(uid, email),
            quick: ctx.quick,
          }),
        ],
        { ...process.env, NODE_OPTIONS: '' },
      ),
    );
    const fastest = raw.results.reduce((a, b) => (b.docsPerS > a.docsPerS ? b : a));
    notes.push(
      `raw write of the same ${raw.docs} docs: ${raw.results.map((r) => `${r.variant} ${round(r.docsPerS, 0)}/s`).join(', ')} → fastest ${fastest.variant}`,
    );
    const eventsPerS = events / seconds;

    // resync_410: a listener on the mirror, 10 changes at Google, sync tokens expired, one sync.
    ctx.log(`resync_410: ${changed} changes, then a 410`);
    const col = world.db.collection(paths.events(uid, email));
    let initial = true;
    let listenerChanges = 0;
    const unsubscribe = col.onSnapshot((snap) => {
      if (initial) {
        initial = false;
        return;
      }
      listenerChanges += snap.docChanges().length;
    });
    if (!(await waitUntil(() => !initial, 60_000))) throw new Error('listener never attached');
    const picked = ids
      .filter((_, i) => i % Math.floor(ids.length / changed) === 0)
      .slice(0, changed);
    await pool(picked, 5, async (id) => {
      const res = await fetch(
        `${stack.sim.url}/calendar/v3/calendars/${encodeURIComponent(email)}/events/${id}`,
        {
          method: 'PATCH',
          headers: { authorization: `Bearer ${access}`, 'content-type': 'application/json' },
          body: JSON.stringify({ summary: `changed ${id}` }),
        },
      );
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`patch failed: ${res.status}`);
    });
    await stack.simClient.expireSyncTokens(email);
    await stack.simClient.clearRequests();
    const mark = workerLines.length;
    const status410 = await deliver(
      stack.urls.syncWorker,
      stack.projectId,
      stack.topic,
      pushBody(stack.projectId, stack.subscription, resync(subscriptionId, 'manual'), 'm-410'),
    );
    if (status410 >= 300) throw new Error(`worker answered ${status410} to the resync`);
    await waitQuiet(() => listenerChanges, 1500, 30_000);
    unsubscribe();
    await sleep(100);
    const lines = workerLines.slice(mark);
    const syncLines = lines.filter((l) => l.message === 'sync');
    const writes = syncLines.reduce(
      (n, l) => n + Number(l.writes ?? 0) + Number(l.deletes ?? 0),
      0,
    );
    const saw410 = lines.some((l) => String(l.message).includes('sync token rejected'));
    const sequences = (await stack.simClient.requests()).filter(startsListSequence).length;
    notes.push(
      `410 seen by the worker: ${saw410}; ${sequences} list sequence(s) (the rejected incremental + the diffing full); Google's sample would rewrite all ${events}`,
    );

    return {
      values: {
        'full_sync.events': events,
        'full_sync.events_per_s': round(eventsPerS, 0),
        'full_sync.raw_write_docs_per_s': round(fastest.docsPerS, 0),
        'full_sync.ratio_vs_raw': round(eventsPerS / fastest.docsPerS, 2),
        'full_sync.peak_rss_mb': round(after.peakMb, 0),
        'resync_410.events': events,
        'resync_410.changed': changed,
        'resync_410.event_writes': writes,
        'resync_410.listener_changes': listenerChanges,
      },
      notes,
    };
  } finally {
    await world.close();
    await stopFunctionsGently(stack);
    await stack.stop();
  }
}
