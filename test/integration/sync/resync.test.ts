// Token loss and full resyncs: 410 mid-history and mid-paging, the diffing full sync seen by a listener, a 10,000-event calendar.
import type { calendar_v3 } from '@googleapis/calendar';
import type { Firestore } from '@google-cloud/firestore';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handleSyncMessage } from '../../../functions/sync/handle.js';
import { runSync } from '../../../functions/sync/engine.js';
import { paths } from '../../../functions/store/schema.js';
import { emulatorsMissing, uniqueProjectId, useEmulators } from '../../harness/env.js';
import { googleCalendar, SimulatorClient } from '../../simulator/client.js';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import {
  etags,
  googleState,
  insertMany,
  mirror,
  newFirestore,
  readSub,
  resync,
  seedSubscription,
  testDeps,
  type Seeded,
} from './helpers.js';

describe.skipIf(emulatorsMissing() !== '')('resync', () => {
  let db: Firestore;
  let sim: Simulator;
  let ctl: SimulatorClient;
  let cal: calendar_v3.Calendar;
  let seeded: Seeded;
  let n = 0;

  beforeAll(() => {
    expect(useEmulators()).toBe(true);
    db = newFirestore(uniqueProjectId('resync'));
  });
  afterAll(() => db.terminate());
  beforeEach(async () => {
    sim = await startSimulator({ seed: 9, rateLimitPerMinute: 10_000_000 });
    ctl = new SimulatorClient(sim.url);
    const email = `resync${++n}@example.com`;
    await ctl.createUser(email, `rt-${n}`);
    cal = googleCalendar(sim.url, `rt-${n}`).calendar;
    seeded = await seedSubscription(db, {
      uid: `s${n}`,
      calendarId: email,
      refreshToken: `rt-${n}`,
    });
  });
  afterEach(() => sim.close());

  const sameAsGoogle = async () => {
    const m = await mirror(db, seeded.uid, seeded.calendarId);
    expect(etags(m)).toEqual(etags(await googleState(cal, seeded.calendarId)));
    return m;
  };
  /** Counts document changes a downstream onSnapshot listener sees after its first snapshot. */
  async function listen() {
    const changes: string[] = [];
    let first = true;
    let resolveReady!: () => void;
    const ready = new Promise<void>((r) => (resolveReady = r));
    const stop = db.collection(paths.events(seeded.uid, seeded.calendarId)).onSnapshot((snap) => {
      if (first) {
        first = false;
        resolveReady();
        return;
      }
      for (const c of snap.docChanges()) changes.push(`${c.type}:${c.doc.id}`);
    });
    await ready;
    return {
      changes,
      /** Waits until `expected` changes arrived (or 10 s), then half a second more for extras. */
      async settle(expected: number) {
        const deadline = Date.now() + 10_000;
        while (changes.length < expected && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
        }
        await new Promise((r) => setTimeout(r, 500));
        stop();
      },
    };
  }
  const change = (ids: string[]) => ({
    async apply() {
      for (const id of ids.slice(0, 4))
        await cal.events.patch({
          calendarId: seeded.calendarId,
          eventId: id,
          requestBody: { summary: 'edited' },
        });
      for (const id of ids.slice(4, 7))
        await cal.events.delete({ calendarId: seeded.calendarId, eventId: id });
      for (let i = 0; i < 3; i++)
        await cal.events.insert({
          calendarId: seeded.calendarId,
          requestBody: {
            summary: `new ${i}`,
            start: { dateTime: '2027-01-01T10:00:00Z' },
            end: { dateTime: '2027-01-01T11:00:00Z' },
          },
        });
    },
  });

  it('410 mid-history: the token is dropped, a diffing full sync writes only the 10 real changes', async () => {
    const ids = await insertMany(cal, seeded.calendarId, 120);
    const d = testDeps(db, sim.url);
    await runSync(d, seeded.subscriptionId);
    const before = (await readSub(db, seeded.subscriptionId)).syncToken;
    await change(ids).apply();
    await ctl.expireSyncTokens(seeded.calendarId);
    const listener = await listen();
    const res = await handleSyncMessage(d, resync(seeded, { reason: 'safety-net' }));
    await listener.settle(10);
    expect(res.sync).toMatchObject({ outcome: 'synced', full: true, writes: 7, deletes: 3 });
    expect(listener.changes).toHaveLength(10);
    expect(listener.changes.filter((c) => c.startsWith('removed'))).toHaveLength(3);
    const sub = await readSub(db, seeded.subscriptionId);
    expect(sub.syncToken).not.toBe(before);
    expect(sub.stats.fullSyncs).toBe(2);
    expect(d.lines.some((l) => l.message === 'sync token rejected; running a full sync')).toBe(
      true,
    );
    await sameAsGoogle();
  });

  it('410 in the middle of paging restarts cleanly as a full sync', async () => {
    const ids = await insertMany(cal, seeded.calendarId, 40);
    const d = testDeps(db, sim.url, { config: { maxResults: 5 } });
    await runSync(d, seeded.subscriptionId);
    for (const id of ids.slice(0, 20))
      await cal.events.patch({
        calendarId: seeded.calendarId,
        eventId: id,
        requestBody: { summary: 'x' },
      });
    let armed = true;
    const crashy = testDeps(db, sim.url, {
      config: { maxResults: 5 },
      hooks: {
        async afterPage(i) {
          if (i === 1 && armed) {
            armed = false; // the third page of the incremental listing answers 410
            await ctl.addFault({
              method: 'GET',
              path: '/calendar/v3/calendars/',
              status: 410,
              reason: 'fullSyncRequired',
              count: 1,
            });
          }
        },
      },
    });
    await ctl.clearRequests();
    const res = await runSync(crashy, seeded.subscriptionId);
    expect(res).toMatchObject({ outcome: 'synced', full: true });
    const log = (await ctl.requests()).filter((r) => r.path.endsWith('/events'));
    expect(log.filter((r) => r.status === 410)).toHaveLength(1);
    expect(
      log.filter((r) => r.query.pageToken === undefined && r.query.syncToken === undefined),
    ).toHaveLength(1); // one full listing
    await sameAsGoogle();
  });

  it('400 "Invalid sync token value." is treated like 410', async () => {
    await insertMany(cal, seeded.calendarId, 5);
    const d = testDeps(db, sim.url);
    await runSync(d, seeded.subscriptionId);
    await db.doc(paths.subscription(seeded.subscriptionId)).update({ syncToken: 'garbage!' });
    const res = await runSync(d, seeded.subscriptionId);
    expect(res).toMatchObject({ outcome: 'synced', full: true, writes: 0, deletes: 0 });
    await sameAsGoogle();
  });

  it('a requested full resync (resync --full) diffs too', async () => {
    const ids = await insertMany(cal, seeded.calendarId, 50);
    const d = testDeps(db, sim.url);
    await runSync(d, seeded.subscriptionId);
    await change(ids).apply();
    const res = await handleSyncMessage(d, resync(seeded, { full: true }));
    expect(res.sync).toMatchObject({ full: true, writes: 7, deletes: 3 });
    await sameAsGoogle();
    expect((await readSub(db, seeded.subscriptionId)).fullSyncRequested).toBe(false);
  });

  it('a 10,000-event calendar: full sync, then a 410 with 10 changes causes 10 writes', async () => {
    // 10,000 events built through events.insert's own code path (the simulator's bulk fixture).
    await ctl.seedEvents(seeded.calendarId, 10_000, { from: '2026-01-01T08:00:00Z' });
    const ids = [...(await googleState(cal, seeded.calendarId)).keys()];
    expect(ids).toHaveLength(10_000);
    // Production-like lease and timeouts: pages of 2,500 take seconds on a busy 2-core machine.
    const d = testDeps(db, sim.url, {
      config: { leaseMs: 120_000, retryBudgetMs: 60_000 },
      googleTimeoutMs: 60_000,
    });
    const started = Date.now();
    const first = await runSync(d, seeded.subscriptionId);
    console.log(
      `[measure] full sync of 10,000 simulator events: ${Date.now() - started} ms (${first.pages} pages, heap ${Math.round(process.memoryUsage().heapUsed / 2 ** 20)} MiB)`,
    );
    expect(first).toMatchObject({ outcome: 'synced', writes: 10_000 });
    expect(first.pages).toBeGreaterThanOrEqual(4);
    await change(ids).apply();
    await ctl.expireSyncTokens(seeded.calendarId);
    const listener = await listen();
    const t2 = Date.now();
    const res = await runSync(d, seeded.subscriptionId);
    console.log(
      `[measure] diffing full resync of 10,000 events with 10 changes: ${Date.now() - t2} ms`,
    );
    await listener.settle(10);
    expect(res).toMatchObject({ full: true, writes: 7, deletes: 3 });
    expect(listener.changes).toHaveLength(10);
    const m = await sameAsGoogle();
    expect(m.size).toBe(10_000);
    expect(m.get(ids[0]!)!.summary).toBe('edited');
    const calDoc = (await db.doc(paths.calendar(seeded.uid, seeded.calendarId)).get()).data()!;
    expect(calDoc.counts.events).toBe(10_000);
  }, 480_000);
});
