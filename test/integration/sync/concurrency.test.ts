// One sync per calendar: 50 concurrent messages coalesce, a crash after page k re-runs from the old token, leases expire and are fenced.
import type { calendar_v3 } from '@googleapis/calendar';
import { Timestamp, type Firestore } from '@google-cloud/firestore';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handleSyncMessage } from '../../../functions/sync/handle.js';
import { LeaseLostError, runSync } from '../../../functions/sync/engine.js';
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
  notification,
  readSub,
  seedSubscription,
  testDeps,
  type Seeded,
} from './helpers.js';

const CHANNEL = { id: 'ch-conc', resourceId: 'res-conc' };

describe.skipIf(emulatorsMissing() !== '')('concurrency and crashes', () => {
  let db: Firestore;
  let sim: Simulator;
  let ctl: SimulatorClient;
  let cal: calendar_v3.Calendar;
  let seeded: Seeded;
  let n = 0;

  beforeAll(() => {
    expect(useEmulators()).toBe(true);
    db = newFirestore(uniqueProjectId('conc'));
  });
  afterAll(() => db.terminate());
  beforeEach(async () => {
    sim = await startSimulator({ seed: 13, rateLimitPerMinute: 1_000_000 });
    ctl = new SimulatorClient(sim.url);
    const email = `conc${++n}@example.com`;
    await ctl.createUser(email, `rt-${n}`);
    cal = googleCalendar(sim.url, `rt-${n}`).calendar;
    seeded = await seedSubscription(db, {
      uid: `c${n}`,
      calendarId: email,
      refreshToken: `rt-${n}`,
      channel: CHANNEL,
    });
  });
  afterEach(() => sim.close());

  const sameAsGoogle = async () => {
    const m = await mirror(db, seeded.uid, seeded.calendarId);
    expect(etags(m)).toEqual(etags(await googleState(cal, seeded.calendarId)));
    return m;
  };
  const listSequences = async () =>
    (await ctl.requests()).filter(
      (r) => r.method === 'GET' && r.path.endsWith('/events') && r.query.pageToken === undefined,
    );

  it('50 messages for one calendar at once → at most 2 events.list sequences, correct final state', async () => {
    const ids = await insertMany(cal, seeded.calendarId, 30);
    const d = testDeps(db, sim.url, { config: { maxResults: 10 } });
    await runSync(d, seeded.subscriptionId);
    for (const id of ids.slice(0, 10))
      await cal.events.patch({
        calendarId: seeded.calendarId,
        eventId: id,
        requestBody: { summary: 'burst' },
      });
    await ctl.clearRequests();
    // Published after the changes (as Google announces them): never covered by the earlier sync,
    // however fast that sync was (a time before it could be skipped as covered on an idle machine).
    const publishedAt = new Date().toISOString();
    const messages = Array.from({ length: 50 }, (_, i) =>
      notification(seeded, CHANNEL, { messageNumber: 100 + i, receivedAt: publishedAt }),
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
    const m = await sameAsGoogle();
    expect(ids.slice(0, 10).every((id) => m.get(id)!.summary === 'burst')).toBe(true);
    const sub = await readSub(db, seeded.subscriptionId);
    expect(sub.lease).toBeNull();
    expect(sub.pending).toBe(false);
  });

  it('a busy message redelivered after the holder re-ran is covered: no further events.list', async () => {
    await insertMany(cal, seeded.calendarId, 12);
    await runSync(testDeps(db, sim.url), seeded.subscriptionId);
    // Google's message number: a run that started listing after #900 was received covers it.
    const busyMessage = notification(seeded, CHANNEL, { messageNumber: 900 });
    let busy: Awaited<ReturnType<typeof handleSyncMessage>> | undefined;
    const holder = testDeps(db, sim.url, {
      config: { maxResults: 5 },
      hooks: {
        async afterPage(i) {
          if (i === 0 && !busy) busy = await handleSyncMessage(testDeps(db, sim.url), busyMessage);
        },
      },
    });
    const held = await handleSyncMessage(holder, notification(seeded, CHANNEL));
    expect(busy!.outcome).toBe('busy');
    expect(held.sync!.runs).toBe(2);
    await ctl.clearRequests();
    const redelivered = await handleSyncMessage(testDeps(db, sim.url), busyMessage);
    expect(redelivered.outcome).toBe('covered');
    expect(await listSequences()).toHaveLength(0);
    const sub = await readSub(db, seeded.subscriptionId);
    expect(sub.coveredMessages?.[CHANNEL.id]).toBeGreaterThanOrEqual(900);
    expect(sub.runCovers ?? null).toBeNull();
  });

  it('a change made during a sync is picked up by the pending re-run', async () => {
    await insertMany(cal, seeded.calendarId, 20);
    const d0 = testDeps(db, sim.url);
    await runSync(d0, seeded.subscriptionId);
    let added = '';
    const d = testDeps(db, sim.url, {
      config: { maxResults: 5 },
      hooks: {
        async afterPage(i) {
          if (i !== 0 || added) return;
          // While this worker holds the lease: a change, and its notification handled elsewhere.
          added = (
            await cal.events.insert({
              calendarId: seeded.calendarId,
              requestBody: {
                summary: 'during',
                start: { dateTime: '2027-02-01T10:00:00Z' },
                end: { dateTime: '2027-02-01T11:00:00Z' },
              },
            })
          ).data.id!;
          const other = await handleSyncMessage(
            testDeps(db, sim.url),
            notification(seeded, CHANNEL),
          );
          expect(other.outcome).toBe('busy');
        },
      },
    });
    await cal.events.patch({
      calendarId: seeded.calendarId,
      eventId: (await googleState(cal, seeded.calendarId)).keys().next().value!,
      requestBody: { summary: 'x' },
    });
    const res = await handleSyncMessage(d, notification(seeded, CHANNEL));
    expect(res.sync!.runs).toBe(2);
    expect((await mirror(db, seeded.uid, seeded.calendarId)).has(added)).toBe(true);
    await sameAsGoogle();
  });

  it('crash after page k, then redelivery: correct final state, token never ahead of the data', async () => {
    const ids = await insertMany(cal, seeded.calendarId, 40);
    const d = testDeps(db, sim.url, { config: { maxResults: 5 } });
    await runSync(d, seeded.subscriptionId);
    const tokenBefore = (await readSub(db, seeded.subscriptionId)).syncToken;
    for (const id of ids.slice(0, 25))
      await cal.events.patch({
        calendarId: seeded.calendarId,
        eventId: id,
        requestBody: { summary: 'v2' },
      });
    for (const id of ids.slice(25, 30))
      await cal.events.delete({ calendarId: seeded.calendarId, eventId: id });
    const crashing = testDeps(db, sim.url, {
      config: { maxResults: 5 },
      hooks: {
        afterPage(i) {
          if (i === 2) throw new Error('simulated crash after page 2');
        },
      },
    });
    const message = notification(seeded, CHANNEL);
    await expect(handleSyncMessage(crashing, message)).rejects.toThrow('simulated crash');
    const afterCrash = await readSub(db, seeded.subscriptionId);
    expect(afterCrash.syncToken).toBe(tokenBefore); // not ahead of the data
    expect(afterCrash.lease).toBeNull(); // released on the error path
    const partial = await mirror(db, seeded.uid, seeded.calendarId);
    expect([...partial.values()].filter((e) => e.summary === 'v2').length).toBeGreaterThan(0); // pages 0–2 applied
    // Pub/Sub redelivers the same message.
    const res = await handleSyncMessage(d, message);
    expect(res.outcome).toBe('synced');
    expect((await readSub(db, seeded.subscriptionId)).syncToken).not.toBe(tokenBefore);
    await sameAsGoogle();
  });

  it("a dead worker's lease: pending while live, taken over once expired", async () => {
    await insertMany(cal, seeded.calendarId, 3);
    const d = testDeps(db, sim.url, { config: { leaseMs: 5_000 } });
    await runSync(d, seeded.subscriptionId);
    await cal.events.insert({
      calendarId: seeded.calendarId,
      requestBody: {
        summary: 'late',
        start: { dateTime: '2027-03-01T10:00:00Z' },
        end: { dateTime: '2027-03-01T11:00:00Z' },
      },
    });
    const expiresAt = Date.now() + 1500;
    await db.doc(paths.subscription(seeded.subscriptionId)).update({
      lease: { holder: 'dead-worker', expiresAt: Timestamp.fromMillis(expiresAt), fence: 41 },
    });
    const busy = await handleSyncMessage(d, notification(seeded, CHANNEL));
    expect(busy.outcome).toBe('busy');
    expect((await readSub(db, seeded.subscriptionId)).pending).toBe(true);
    await new Promise((r) => setTimeout(r, expiresAt - Date.now() + 50));
    const taken = await handleSyncMessage(d, notification(seeded, CHANNEL));
    expect(taken.outcome).toBe('synced');
    const sub = await readSub(db, seeded.subscriptionId);
    expect(sub.lease).toBeNull();
    expect(sub.pending).toBe(false);
    await sameAsGoogle();
  });

  it('fencing: a worker whose lease was taken over commits nothing', async () => {
    await insertMany(cal, seeded.calendarId, 12);
    const d = testDeps(db, sim.url);
    await runSync(d, seeded.subscriptionId);
    const tokenBefore = (await readSub(db, seeded.subscriptionId)).syncToken;
    await cal.events.insert({
      calendarId: seeded.calendarId,
      requestBody: {
        summary: 'x',
        start: { dateTime: '2027-03-01T10:00:00Z' },
        end: { dateTime: '2027-03-01T11:00:00Z' },
      },
    });
    const slow = testDeps(db, sim.url, {
      hooks: {
        async afterPage() {
          // Our lease "expired" while we were paused; another worker took it (fence moved on).
          await db.doc(paths.subscription(seeded.subscriptionId)).update({
            lease: {
              holder: 'other',
              expiresAt: Timestamp.fromMillis(Date.now() + 60_000),
              fence: 999,
            },
          });
        },
      },
    });
    await expect(handleSyncMessage(slow, notification(seeded, CHANNEL))).rejects.toBeInstanceOf(
      LeaseLostError,
    );
    const sub = await readSub(db, seeded.subscriptionId);
    expect(sub.syncToken).toBe(tokenBefore);
    expect(sub.lease).toMatchObject({ holder: 'other', fence: 999 }); // not released by the loser
  });
});
