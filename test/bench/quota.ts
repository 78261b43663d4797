// quota.*: one simulated day for N calendars through the real webhook + syncWorker (clock shifted by a preload) and hourly renewChannels runs; Calendar API calls per calendar per day.
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { renewChannelsCore } from '../../functions/renewal/core.js';
import { startLocalStack } from '../stack/local-stack.js';
import {
  BENCH_DIR,
  endpointOf,
  pool,
  round,
  sleep,
  stopFunctionsGently,
  waitQuiet,
  waitUntil,
} from './lib.js';
import type { BenchContext, BenchResult } from './lib.js';
import { benchWorld, connectCalendar, eventBody, seedEvents } from './world.js';

const HOUR = 3_600_000;
/** No acknowledgement for this long (> Pub/Sub's 5 s maximum backoff + the 2 s re-check): settled. */
const STALL_MS = 10_000;
const DAY = 24 * HOUR;
/** Requests the benchmark itself makes as the calendar's user (not calsync's quota). */
const EDITOR_ENDPOINTS = new Set(['events.insert', 'events.patch', 'events.delete']);

/** Five distinct hours of the day per calendar, from a seeded generator (reproducible). */
function schedule(calendars: number, bursts: number): number[][] {
  let seed = 20_260_509;
  const rand = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  return Array.from({ length: calendars }, () => {
    const hours = new Set<number>();
    while (hours.size < bursts) hours.add(Math.floor(rand() * 24));
    return [...hours].sort((a, b) => a - b);
  });
}

export async function benchQuota(ctx: BenchContext): Promise<BenchResult> {
  const n = ctx.quick ? 6 : 100;
  // --quick: the same day in 4-hour steps (renewChannels every 4 h instead of hourly).
  const stepHours = ctx.quick ? 4 : 1;
  const bursts = 5;
  const quietMs = ctx.quick ? 500 : 1200;
  const clockFile = join(tmpdir(), `calsync-bench-clock-${process.pid}`);
  writeFileSync(clockFile, '0');
  let lines = 0;
  // Every published notification ends acknowledged by the worker (one `sync result` line without
  // redelivery): the day moves on only then. Quiet log lines alone are not enough, as a run may
  // pause (settle window, re-check of an empty delta, Pub/Sub's redelivery backoff) in silence.
  let published = 0;
  let acked = 0;
  let unsettled = 0;
  const triggers = new Map<string, number>();
  const stack = await startLocalStack({
    targets: ['webhook', 'syncWorker'],
    build: false,
    // Google's per-user limit (600/min) stays; only the day's clock is simulated.
    simulator: { notificationRetryBaseMs: 200 },
    env: {
      CALSYNC_BENCH_CLOCK_FILE: clockFile,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import tsx --import ${pathToFileURL(join(BENCH_DIR, 'clock-preload.ts')).href}`,
    },
    onLine: (target, line) => {
      lines++;
      if (target === 'webhook' && line.includes('"message":"notification published"')) published++;
      // The daily `roll` messages renewChannels queues (decision 011) are acknowledged too: not counted.
      if (
        line.includes('"message":"sync result"') &&
        line.includes('"redeliver":false') &&
        !/"outcome":"roll(ed|_current)"/.test(line)
      )
        acked++;
      if (process.env.CALSYNC_BENCH_TRACE)
        appendFileSync(process.env.CALSYNC_BENCH_TRACE, `${line}\n`);
      if (target !== 'syncWorker' || !line.includes('"message":"sync"')) return;
      try {
        const entry = JSON.parse(line) as {
          trigger?: string;
          message?: string;
          recheck?: boolean;
          run?: number;
        };
        // A sync is a lease's work for a trigger; the visibility-lag re-check of an earlier run of
        // the same lease (a run of its own since issue 14.3) is counted with it, as before, in the
        // calls but not as a sync. A lease's first run always counts.
        if (entry.recheck === true && (entry.run ?? 1) > 1) return;
        const key = String(entry.trigger);
        triggers.set(key, (triggers.get(key) ?? 0) + 1);
      } catch {
        /* not JSON */
      }
    },
  });
  const world = await benchWorld(stack);
  const quiet = async () => {
    await stack.sim.idle();
    await waitQuiet(() => lines, quietMs);
    // A message Pub/Sub dead-letters is never acknowledged: stop once acknowledgements stall.
    let seen = -1;
    let since = Date.now();
    const settled = await waitUntil(
      () => {
        if (acked !== seen) [seen, since] = [acked, Date.now()];
        return acked >= published || Date.now() - since > STALL_MS;
      },
      120_000,
      100,
    );
    if (!settled || acked < published) unsettled++;
    await waitQuiet(() => lines, quietMs);
  };
  try {
    // Steady state of 7-day channels renewed a day before expiry: one calendar in six is due today.
    // Cohort c's channel is opened with a ttl of c+1 days + 30 min, so only cohort 0 renews in this day.
    ctx.log(`quota: connecting ${n} calendars`);
    const users = Array.from({ length: n }, (_, i) => ({
      uid: `q${i}`,
      email: `q${i}@quota.calsync.test`,
      token: `1//bench-quota-${i}-refresh`,
      cohort: i % 6,
    }));
    await pool(users, 4, async (u) => {
      await stack.simClient.createUser(u.email, u.token);
      const access = await stack.simClient.accessToken(u.token);
      await seedEvents(stack.sim.url, access, u.email, 10, 4);
      const ttl = (u.cohort + 1) * 86_400 + 1800;
      await connectCalendar(
        world.deps({ config: { ...world.config, channelTtlSeconds: ttl } }),
        u.uid,
        u.email,
        u.token,
      );
    });
    await quiet();
    await stack.simClient.clearRequests();
    triggers.clear();

    const plan = schedule(n, bursts);
    let editorTokenCalls = 0;
    const t0 = Date.now();
    for (let hour = 0; hour < 24; hour += stepHours) {
      world.offset.ms = (await stack.simClient.advanceClock(stepHours * HOUR)) - Date.now();
      writeFileSync(clockFile, String(world.offset.ms));
      await sleep(150); // the functions' preload reads the file every 50 ms
      const due = users.flatMap((u, i) =>
        (plan[i] ?? []).filter((h) => h >= hour && h < hour + stepHours).map(() => u),
      );
      await pool(due, 25, async (u) => {
        const access = await stack.simClient.accessToken(u.token);
        editorTokenCalls++;
        const api = `${stack.sim.url}/calendar/v3/calendars/${encodeURIComponent(u.email)}/events`;
        const headers = { authorization: `Bearer ${access}`, 'content-type': 'application/json' };
        // Three changes back to back, each notifying as Google does: add, edit, delete.
        const created = (await (
          await fetch(api, {
            method: 'POST',
            headers,
            body: JSON.stringify(eventBody(hour, Date.now() + world.offset.ms)),
          })
        ).json()) as { id: string };
        await (
          await fetch(`${api}/${created.id}`, {
            method: 'PATCH',
            headers,
            body: JSON.stringify({ summary: `edited at hour ${hour}` }),
          })
        ).arrayBuffer();
        await (await fetch(`${api}/${created.id}`, { method: 'DELETE', headers })).arrayBuffer();
      });
      await quiet();
      // renewChannels runs hourly (Cloud Scheduler); here in-process on the simulated clock.
      // Its Calendar APIs see the simulated clock too (a cached access token expires on it).
      await renewChannelsCore({
        ...world.deps(),
        apiOptions: { now: () => Date.now() + world.offset.ms },
        holderId: `bench-hour-${hour}`,
      });
      await quiet();
    }
    const dayMs = Date.now() - t0;
    const requests = await stack.simClient.requests();
    const byEndpoint = new Map<string, number>();
    let tokenCalls = 0;
    for (const r of requests) {
      const e = endpointOf(r);
      if (e === 'oauth.token') tokenCalls++;
      if (EDITOR_ENDPOINTS.has(e) || e === 'oauth.token') continue;
      byEndpoint.set(e, (byEndpoint.get(e) ?? 0) + 1);
    }
    const total = [...byEndpoint.values()].reduce((a, b) => a + b, 0);
    const perCal = (x: number) => round(x / n, 2);
    const syncs = [...triggers.values()].reduce((a, b) => a + b, 0);
    const refreshes = tokenCalls - editorTokenCalls;
    return {
      values: {
        'quota.calendars': n,
        'quota.calls_per_calendar_day': perCal(total),
        'quota.syncs': syncs,
        // calsync's refreshes (worker and renewal) per worker sync run.
        'quota.token_refreshes_per_sync': syncs > 0 ? round(refreshes / syncs, 3) : 0,
      },
      notes: [
        `simulated ${DAY / HOUR} h in ${round(dayMs / 1000, 0)} s: ${n * bursts} bursts × 3 changes, ${24 / stepHours} renewChannels runs; per calendar per day: ${[...byEndpoint].map(([k, v]) => `${k} ${perCal(v)}`).join(', ')}`,
        `notifications published ${published}, acknowledged by the worker ${acked}${unsettled > 0 ? `; ${unsettled} step(s) moved on with messages unacknowledged (dead-lettered or stalled)` : ''}`,
        `worker sync runs by trigger: ${[...triggers].map(([k, v]) => `${k} ${v}`).join(', ')}; OAuth token refreshes by calsync ${refreshes} for ${syncs} syncs (not Calendar API quota)`,
      ],
    };
  } finally {
    await world.close();
    await stopFunctionsGently(stack);
    await stack.stop();
    rmSync(clockFile, { force: true });
  }
}
