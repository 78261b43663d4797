// Token loss and full resyncs: 410 mid-history and mid-paging, the diffing full sync seen by a listener, a 10,000-event calendar.
import { describe, expect, it } from 'vitest';
import { handleSyncMessage } from '../../../functions/sync/handle.js';
import { runSync } from '../../../functions/sync/engine.js';
import { paths } from '../../../functions/store/schema.js';
import { emulatorsMissing } from '../../harness/env.js';
import { googleEvents } from '../../harness/google-truth.js';
import { listenToChanges } from '../../harness/fixtures.js';
import { insertMany, resync, syncFixture } from './helpers.js';

describe.skipIf(emulatorsMissing() !== '')('resync', () => {
  const f = syncFixture({ name: 'resync', simulator: { seed: 9, rateLimitPerMinute: 10_000_000 } });

  /** Counts document changes a downstream onSnapshot listener sees after its first snapshot. */
  async function listen() {
    const { changes, stop } = await listenToChanges(
      f.db.collection(paths.events(f.seeded.uid, f.seeded.calendarId)),
      (c) => `${c.type}:${c.doc.id}`,
    );
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
      await f.rename(ids.slice(0, 4), 'edited');
      await f.remove(ids.slice(4, 7));
      for (let i = 0; i < 3; i++)
        await f.insert({
          summary: `new ${i}`,
          start: { dateTime: '2027-01-01T10:00:00Z' },
          end: { dateTime: '2027-01-01T11:00:00Z' },
        });
    },
  });

  it('410 mid-history: the token is dropped, a diffing full sync writes only the 10 real changes', async () => {
    const ids = await insertMany(f.cal, f.seeded.calendarId, 120);
    const d = f.deps();
    await runSync(d, f.seeded.subscriptionId);
    const before = (await f.readSub()).syncToken;
    await change(ids).apply();
    await f.ctl.expireSyncTokens(f.seeded.calendarId);
    const listener = await listen();
    const res = await handleSyncMessage(d, resync(f.seeded, { reason: 'safety-net' }));
    await listener.settle(10);
    expect(res.sync).toMatchObject({ outcome: 'synced', full: true, writes: 7, deletes: 3 });
    expect(listener.changes).toHaveLength(10);
    expect(listener.changes.filter((c) => c.startsWith('removed'))).toHaveLength(3);
    const sub = await f.readSub();
    expect(sub.syncToken).not.toBe(before);
    expect(sub.stats.fullSyncs).toBe(2);
    expect(d.lines.some((l) => l.message === 'sync token rejected; running a full sync')).toBe(
      true,
    );
    await f.sameAsGoogle();
  });

  it('410 in the middle of paging restarts cleanly as a full sync', async () => {
    const ids = await insertMany(f.cal, f.seeded.calendarId, 40);
    const d = f.deps({ config: { maxResults: 5 } });
    await runSync(d, f.seeded.subscriptionId);
    await f.rename(ids.slice(0, 20), 'x');
    let armed = true;
    const crashy = f.deps({
      config: { maxResults: 5 },
      hooks: {
        async afterPage(i) {
          if (i === 1 && armed) {
            armed = false; // the third page of the incremental listing answers 410
            await f.ctl.addFault({
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
    await f.ctl.clearRequests();
    const res = await runSync(crashy, f.seeded.subscriptionId);
    expect(res).toMatchObject({ outcome: 'synced', full: true });
    const log = (await f.ctl.requests()).filter((r) => r.path.endsWith('/events'));
    expect(log.filter((r) => r.status === 410)).toHaveLength(1);
    expect(
      log.filter((r) => r.query.pageToken === undefined && r.query.syncToken === undefined),
    ).toHaveLength(1); // one full listing
    await f.sameAsGoogle();
  });

  it('400 "Invalid sync token value." is treated like 410', async () => {
    await insertMany(f.cal, f.seeded.calendarId, 5);
    const d = f.deps();
    await runSync(d, f.seeded.subscriptionId);
    await f.db.doc(paths.subscription(f.seeded.subscriptionId)).update({ syncToken: 'garbage!' });
    const res = await runSync(d, f.seeded.subscriptionId);
    expect(res).toMatchObject({ outcome: 'synced', full: true, writes: 0, deletes: 0 });
    await f.sameAsGoogle();
  });

  it('a requested full resync (resync --full) diffs too', async () => {
    const ids = await insertMany(f.cal, f.seeded.calendarId, 50);
    const d = f.deps();
    await runSync(d, f.seeded.subscriptionId);
    await change(ids).apply();
    const res = await handleSyncMessage(d, resync(f.seeded, { full: true }));
    expect(res.sync).toMatchObject({ full: true, writes: 7, deletes: 3 });
    await f.sameAsGoogle();
    expect((await f.readSub()).fullSyncRequested).toBe(false);
  });

  it('a 10,000-event calendar: full sync, then a 410 with 10 changes causes 10 writes', async () => {
    // 10,000 events built through events.insert's own code path (the simulator's bulk fixture).
    await f.ctl.seedEvents(f.seeded.calendarId, 10_000, { from: '2026-01-01T08:00:00Z' });
    const ids = [...(await googleEvents(f.cal, f.seeded.calendarId)).keys()];
    expect(ids).toHaveLength(10_000);
    // Production-like lease and timeouts: pages of 2,500 take seconds on a busy 2-core machine.
    const d = f.deps({
      config: { leaseMs: 120_000, retryBudgetMs: 60_000 },
      googleTimeoutMs: 60_000,
    });
    const started = Date.now();
    const first = await runSync(d, f.seeded.subscriptionId);
    console.log(
      `[measure] full sync of 10,000 simulator events: ${Date.now() - started} ms (${first.pages} pages, heap ${Math.round(process.memoryUsage().heapUsed / 2 ** 20)} MiB)`,
    );
    expect(first).toMatchObject({ outcome: 'synced', writes: 10_000 });
    expect(first.pages).toBeGreaterThanOrEqual(4);
    await change(ids).apply();
    await f.ctl.expireSyncTokens(f.seeded.calendarId);
    const listener = await listen();
    const t2 = Date.now();
    const res = await runSync(d, f.seeded.subscriptionId);
    console.log(
      `[measure] diffing full resync of 10,000 events with 10 changes: ${Date.now() - t2} ms`,
    );
    await listener.settle(10);
    expect(res).toMatchObject({ full: true, writes: 7, deletes: 3 });
    expect(listener.changes).toHaveLength(10);
    const m = await f.sameAsGoogle();
    expect(m.size).toBe(10_000);
    expect(m.get(ids[0]!)!.summary).toBe('edited');
    const calDoc = (
      await f.db.doc(paths.calendar(f.seeded.uid, f.seeded.calendarId)).get()
    ).data()!;
    expect(calDoc.counts.events).toBe(10_000);
  }, 480_000);
});
