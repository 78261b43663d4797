// One sync per calendar: 50 concurrent messages coalesce, a crash after page k re-runs from the old token, leases expire and are fenced.
import { Timestamp } from '@google-cloud/firestore';
import { describe, expect, it } from 'vitest';
import { handleSyncMessage } from '../../../functions/sync/handle.js';
import { LeaseLostError, runSync } from '../../../functions/sync/engine.js';
import { paths } from '../../../functions/store/schema.js';
import { emulatorsMissing } from '../../harness/env.js';
import { googleEvents } from '../../harness/google-truth.js';
import { crashAfterPage, insertMany, syncFixture } from './helpers.js';

const CHANNEL = { id: 'ch-conc', resourceId: 'res-conc' };

describe.skipIf(emulatorsMissing() !== '')('concurrency and crashes', () => {
  const f = syncFixture({ name: 'conc', simulator: { seed: 13 }, channel: CHANNEL });
  const listSequences = async () =>
    (await f.ctl.requests()).filter(
      (r) => r.method === 'GET' && r.path.endsWith('/events') && r.query.pageToken === undefined,
    );

  it('50 messages for one calendar at once → at most 2 events.list sequences, correct final state', async () => {
    const ids = await insertMany(f.cal, f.seeded.calendarId, 30);
    const d = f.deps({ config: { maxResults: 10 } });
    await runSync(d, f.seeded.subscriptionId);
    await f.rename(ids.slice(0, 10), 'burst');
    await f.ctl.clearRequests();
    // Published after the changes (as Google announces them): never covered by the earlier sync,
    // however fast that sync was (a time before it could be skipped as covered on an idle machine).
    const publishedAt = new Date().toISOString();
    const messages = Array.from({ length: 50 }, (_, i) =>
      f.notification({ messageNumber: 100 + i, receivedAt: publishedAt }),
    );
    const results = await Promise.all(messages.map((m) => handleSyncMessage(d, m)));
    const outcomes: Record<string, number> = {};
    for (const r of results) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
    const sequences = (await listSequences()).length;
    console.log(
      `[measure] 50 concurrent messages → ${sequences} events.list sequence(s); outcomes ${JSON.stringify(outcomes)}`,
    );
    expect(sequences).toBeGreaterThanOrEqual(1);
    expect(sequences).toBeLessThanOrEqual(2);
    expect(outcomes.synced).toBeGreaterThanOrEqual(1);
    const m = await f.sameAsGoogle();
    expect(ids.slice(0, 10).every((id) => m.get(id)!.summary === 'burst')).toBe(true);
    const sub = await f.readSub();
    expect(sub.lease).toBeNull();
    expect(sub.pending).toBe(false);
  });

  it('a busy message redelivered after the holder re-ran is covered: no further events.list', async () => {
    await insertMany(f.cal, f.seeded.calendarId, 12);
    await runSync(f.deps(), f.seeded.subscriptionId);
    // Google's message number: a run that started listing after #900 was received covers it.
    const busyMessage = f.notification({ messageNumber: 900 });
    let busy: Awaited<ReturnType<typeof handleSyncMessage>> | undefined;
    const holder = f.deps({
      config: { maxResults: 5 },
      hooks: {
        async afterPage(i) {
          if (i === 0 && !busy) busy = await handleSyncMessage(f.deps(), busyMessage);
        },
      },
    });
    const held = await handleSyncMessage(holder, f.notification());
    expect(busy!.outcome).toBe('busy');
    expect(held.sync!.runs).toBe(2);
    await f.ctl.clearRequests();
    const redelivered = await handleSyncMessage(f.deps(), busyMessage);
    expect(redelivered.outcome).toBe('covered');
    expect(await listSequences()).toHaveLength(0);
    const sub = await f.readSub();
    expect(sub.coveredMessages?.[f.channel.id]).toBeGreaterThanOrEqual(900);
    expect(sub.runCovers ?? null).toBeNull();
  });

  it('a change made during a sync is picked up by the pending re-run', async () => {
    await insertMany(f.cal, f.seeded.calendarId, 20);
    const d0 = f.deps();
    await runSync(d0, f.seeded.subscriptionId);
    let added = '';
    const d = f.deps({
      config: { maxResults: 5 },
      hooks: {
        async afterPage(i) {
          if (i !== 0 || added) return;
          // While this worker holds the lease: a change, and its notification handled elsewhere.
          added = (
            await f.insert({
              summary: 'during',
              start: { dateTime: '2027-02-01T10:00:00Z' },
              end: { dateTime: '2027-02-01T11:00:00Z' },
            })
          ).id!;
          const other = await handleSyncMessage(f.deps(), f.notification());
          expect(other.outcome).toBe('busy');
        },
      },
    });
    await f.rename([(await googleEvents(f.cal, f.seeded.calendarId)).keys().next().value!], 'x');
    const res = await handleSyncMessage(d, f.notification());
    expect(res.sync!.runs).toBe(2);
    expect((await f.mirror()).has(added)).toBe(true);
    await f.sameAsGoogle();
  });

  it('crash after page k, then redelivery: correct final state, token never ahead of the data', async () => {
    const ids = await insertMany(f.cal, f.seeded.calendarId, 40);
    const d = f.deps({ config: { maxResults: 5 } });
    await runSync(d, f.seeded.subscriptionId);
    const tokenBefore = (await f.readSub()).syncToken;
    await f.rename(ids.slice(0, 25), 'v2');
    await f.remove(ids.slice(25, 30));
    const crashing = f.deps({
      config: { maxResults: 5 },
      hooks: crashAfterPage(2, 'simulated crash after page 2'),
    });
    const message = f.notification();
    await expect(handleSyncMessage(crashing, message)).rejects.toThrow('simulated crash');
    const afterCrash = await f.readSub();
    expect(afterCrash.syncToken).toBe(tokenBefore); // not ahead of the data
    expect(afterCrash.lease).toBeNull(); // released on the error path
    const partial = await f.mirror();
    expect([...partial.values()].filter((e) => e.summary === 'v2').length).toBeGreaterThan(0); // pages 0–2 applied
    // Pub/Sub redelivers the same message.
    const res = await handleSyncMessage(d, message);
    expect(res.outcome).toBe('synced');
    expect((await f.readSub()).syncToken).not.toBe(tokenBefore);
    await f.sameAsGoogle();
  });

  it("a dead worker's lease: pending while live, taken over once expired", async () => {
    await insertMany(f.cal, f.seeded.calendarId, 3);
    const d = f.deps({ config: { leaseMs: 5_000 } });
    await runSync(d, f.seeded.subscriptionId);
    await f.insert({
      summary: 'late',
      start: { dateTime: '2027-03-01T10:00:00Z' },
      end: { dateTime: '2027-03-01T11:00:00Z' },
    });
    const expiresAt = Date.now() + 1500;
    await f.db.doc(paths.subscription(f.seeded.subscriptionId)).update({
      lease: { holder: 'dead-worker', expiresAt: Timestamp.fromMillis(expiresAt), fence: 41 },
    });
    const busy = await handleSyncMessage(d, f.notification());
    expect(busy.outcome).toBe('busy');
    expect((await f.readSub()).pending).toBe(true);
    await new Promise((r) => setTimeout(r, expiresAt - Date.now() + 50));
    const taken = await handleSyncMessage(d, f.notification());
    expect(taken.outcome).toBe('synced');
    const sub = await f.readSub();
    expect(sub.lease).toBeNull();
    expect(sub.pending).toBe(false);
    await f.sameAsGoogle();
  });

  it('fencing: a worker whose lease was taken over commits nothing', async () => {
    await insertMany(f.cal, f.seeded.calendarId, 12);
    const d = f.deps();
    await runSync(d, f.seeded.subscriptionId);
    const tokenBefore = (await f.readSub()).syncToken;
    await f.insert({
      summary: 'x',
      start: { dateTime: '2027-03-01T10:00:00Z' },
      end: { dateTime: '2027-03-01T11:00:00Z' },
    });
    const slow = f.deps({
      hooks: {
        async afterPage() {
          // Our lease "expired" while we were paused; another worker took it (fence moved on).
          await f.db.doc(paths.subscription(f.seeded.subscriptionId)).update({
            lease: {
              holder: 'other',
              expiresAt: Timestamp.fromMillis(Date.now() + 60_000),
              fence: 999,
            },
          });
        },
      },
    });
    await expect(handleSyncMessage(slow, f.notification())).rejects.toBeInstanceOf(LeaseLostError);
    const sub = await f.readSub();
    expect(sub.syncToken).toBe(tokenBefore);
    expect(sub.lease).toMatchObject({ holder: 'other', fence: 999 }); // not released by the loser
  });
});
