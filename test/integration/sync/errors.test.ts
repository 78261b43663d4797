// Failure paths: invalid_grant, rate-limit bursts with bounded backoff, 404 calendar, malformed / stale / covered messages.
import type { calendar_v3 } from '@googleapis/calendar';
import type { Firestore } from '@google-cloud/firestore';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CalendarError } from '../../../functions/calendar/errors.js';
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
  notification,
  readSub,
  resync,
  seedSubscription,
  testDeps,
  type Seeded,
} from './helpers.js';

describe.skipIf(emulatorsMissing() !== '')('sync worker failure paths', () => {
  let db: Firestore;
  let sim: Simulator;
  let ctl: SimulatorClient;
  let cal: calendar_v3.Calendar;
  let seeded: Seeded;
  let channel: { id: string; resourceId: string };
  let n = 0;

  beforeAll(() => {
    expect(useEmulators()).toBe(true);
    db = newFirestore(uniqueProjectId('errors'));
  });
  afterAll(() => db.terminate());
  beforeEach(async () => {
    sim = await startSimulator({ seed: 17, rateLimitPerMinute: 1_000_000 });
    ctl = new SimulatorClient(sim.url);
    const email = `err${++n}@example.com`;
    await ctl.createUser(email, `rt-${n}`);
    cal = googleCalendar(sim.url, `rt-${n}`).calendar;
    // A real channel, so stopping it can be observed (notifications go nowhere: nobody listens).
    const { data } = await cal.events.watch({
      calendarId: email,
      requestBody: { id: `ch-${n}`, type: 'web_hook', address: 'http://127.0.0.1:9/hook' },
    });
    channel = { id: data.id!, resourceId: data.resourceId! };
    seeded = await seedSubscription(db, {
      uid: `e${n}`,
      calendarId: email,
      refreshToken: `rt-${n}`,
      channel,
    });
    await insertMany(cal, email, 5);
  });
  afterEach(() => sim.close());

  const stops = async () =>
    (await ctl.requests()).filter((r) => r.path === '/calendar/v3/channels/stop');
  const calDoc = async () =>
    (await db.doc(paths.calendar(seeded.uid, seeded.calendarId)).get()).data();

  it('invalid_grant: needs_reauth on subscription and calendar, acknowledged, no retry', async () => {
    const d = testDeps(db, sim.url);
    await runSync(d, seeded.subscriptionId);
    await ctl.revoke(seeded.calendarId);
    const res = await handleSyncMessage(d, notification(seeded, channel));
    expect(res.outcome).toBe('needs_reauth');
    const sub = await readSub(db, seeded.subscriptionId);
    expect(sub.status).toBe('needs_reauth');
    expect(sub.lastError).toMatchObject({ code: 'invalid_grant' });
    expect(sub.lease).toBeNull();
    expect((await calDoc())!.sync).toMatchObject({
      status: 'needs_reauth',
      lastError: { code: 'invalid_grant' },
    });
    expect((await db.doc(paths.credentials(seeded.uid)).get()).get('status')).toBe('revoked');
    // Later messages are acknowledged without calling Google.
    await ctl.clearRequests();
    expect((await handleSyncMessage(d, notification(seeded, channel))).outcome).toBe('inactive');
    expect(await ctl.requests()).toHaveLength(0);
    // Nothing secret in the logs.
    expect(JSON.stringify(d.lines)).not.toContain(`rt-${n}`);
  });

  it('rate-limit bursts: backoff inside the budget, final state still correct', async () => {
    const retries: number[] = [];
    const d = testDeps(db, sim.url, {
      config: { retryBudgetMs: 3_000 },
      apiOptions: { onRetry: (r) => retries.push(r.delayMs) },
    });
    await runSync(d, seeded.subscriptionId);
    await insertMany(cal, seeded.calendarId, 3);
    await ctl.addFault({
      method: 'GET',
      path: '/calendar/v3/calendars/',
      status: 403,
      reason: 'userRateLimitExceeded',
      count: 2,
    });
    await ctl.addFault({
      method: 'GET',
      path: '/calendar/v3/calendars/',
      status: 429,
      reason: 'rateLimitExceeded',
      count: 1,
    });
    await ctl.addFault({ method: 'GET', path: '/calendar/v3/calendars/', status: 503, count: 1 });
    const started = Date.now();
    const res = await handleSyncMessage(d, notification(seeded, channel));
    expect(res.outcome).toBe('synced');
    expect(retries).toHaveLength(4);
    expect(retries.every((ms) => ms >= 0 && ms <= 200)).toBe(true); // full jitter under the cap
    expect(Date.now() - started).toBeLessThan(3_000);
    const m = await mirror(db, seeded.uid, seeded.calendarId);
    expect(etags(m)).toEqual(etags(await googleState(cal, seeded.calendarId)));
  });

  it('a burst longer than the budget: the message fails (redelivery), the lease is released, the retry converges', async () => {
    const d = testDeps(db, sim.url, { config: { retryBudgetMs: 300 } });
    await runSync(d, seeded.subscriptionId);
    await insertMany(cal, seeded.calendarId, 2);
    await ctl.addFault({
      method: 'GET',
      path: '/calendar/v3/calendars/',
      status: 429,
      reason: 'rateLimitExceeded',
      count: 1000,
    });
    const started = Date.now();
    const err = await handleSyncMessage(d, notification(seeded, channel)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CalendarError);
    expect(err).toMatchObject({ kind: 'rate_limited' });
    expect(Date.now() - started).toBeLessThan(2_000); // budget 300 ms + the calls themselves
    const sub = await readSub(db, seeded.subscriptionId);
    expect(sub.lease).toBeNull();
    expect(sub.status).toBe('active');
    expect(sub.lastError).toMatchObject({ code: 'rate_limited' });
    await ctl.clearFaults();
    expect((await handleSyncMessage(d, notification(seeded, channel))).outcome).toBe('synced');
    const m = await mirror(db, seeded.uid, seeded.calendarId);
    expect(etags(m)).toEqual(etags(await googleState(cal, seeded.calendarId)));
  });

  it('404 calendar: removed, channel stopped, data deleted', async () => {
    const d = testDeps(db, sim.url);
    await runSync(d, seeded.subscriptionId);
    expect((await mirror(db, seeded.uid, seeded.calendarId)).size).toBe(5);
    await ctl.deleteCalendar(seeded.calendarId);
    await ctl.clearRequests();
    const res = await handleSyncMessage(d, notification(seeded, channel));
    expect(res.outcome).toBe('removed');
    expect((await readSub(db, seeded.subscriptionId)).status).toBe('removed');
    expect((await calDoc())!.sync.status).toBe('removed');
    expect((await stops()).length).toBe(1);
    expect((await mirror(db, seeded.uid, seeded.calendarId)).size).toBe(0);
    expect((await readSub(db, seeded.subscriptionId)).channel).toBeNull();
  });

  it('404 with keepDataOnRemove keeps the events', async () => {
    const d = testDeps(db, sim.url, { config: { keepDataOnRemove: true } });
    await runSync(d, seeded.subscriptionId);
    await ctl.deleteCalendar(seeded.calendarId);
    expect((await handleSyncMessage(d, notification(seeded, channel))).outcome).toBe('removed');
    expect((await mirror(db, seeded.uid, seeded.calendarId)).size).toBe(5);
  });

  it('not_exists is a hint: removed only once Google confirms the calendar is gone', async () => {
    const d = testDeps(db, sim.url);
    await runSync(d, seeded.subscriptionId);
    const before = (await mirror(db, seeded.uid, seeded.calendarId)).size;
    // A spurious (or replayed) not_exists for a calendar Google still serves: synced, nothing wiped.
    await ctl.clearRequests();
    const spurious = await handleSyncMessage(
      d,
      notification(seeded, channel, { state: 'not_exists' }),
    );
    expect(spurious.outcome).toBe('synced');
    expect((await readSub(db, seeded.subscriptionId)).status).toBe('active');
    expect((await mirror(db, seeded.uid, seeded.calendarId)).size).toBe(before);
    expect(await stops()).toHaveLength(0);
    expect(
      (await ctl.requests()).some((r) => r.method === 'GET' && /\/calendars\/[^/]+$/.test(r.path)),
    ).toBe(true);
    // Really deleted: calendars.get answers 404 → removed, channel stopped, data gone, no listing.
    await ctl.deleteCalendar(seeded.calendarId);
    await ctl.clearRequests();
    const gone = await handleSyncMessage(d, notification(seeded, channel, { state: 'not_exists' }));
    expect(gone.outcome).toBe('removed');
    expect((await ctl.requests()).filter((r) => r.path.endsWith('/events'))).toHaveLength(0);
    expect((await stops()).length).toBe(1);
    expect((await readSub(db, seeded.subscriptionId)).status).toBe('removed');
    expect((await mirror(db, seeded.uid, seeded.calendarId)).size).toBe(0);
  });

  it('malformed messages are acknowledged and logged as errors', async () => {
    const d = testDeps(db, sim.url);
    for (const data of [
      undefined,
      'garbage',
      { v: 2, kind: 'notification' },
      { ...notification(seeded, channel).data, channelId: '' },
    ]) {
      expect((await handleSyncMessage(d, { data })).outcome).toBe('malformed');
    }
    expect(
      d.lines.filter(
        (l) => l.severity === 'ERROR' && l.message === 'malformed sync message acknowledged',
      ),
    ).toHaveLength(4);
  });

  it('unknown subscription, stale channel (stopped), resource mismatch: acknowledged', async () => {
    const d = testDeps(db, sim.url);
    const ghost = { ...seeded, subscriptionId: 's_AAAAAAAAAAAAAAAAAAAAAAAA' };
    expect((await handleSyncMessage(d, notification(ghost, channel))).outcome).toBe(
      'unknown_subscription',
    );
    await ctl.clearRequests();
    const stale = await handleSyncMessage(
      d,
      notification(seeded, { id: 'old-channel', resourceId: channel.resourceId }),
    );
    expect(stale.outcome).toBe('stale_channel');
    expect((await stops()).length).toBe(1);
    const mismatch = await handleSyncMessage(
      d,
      notification(seeded, { id: channel.id, resourceId: 'someone-else' }),
    );
    expect(mismatch.outcome).toBe('resource_mismatch');
    expect((await ctl.requests()).filter((r) => r.path.endsWith('/events'))).toHaveLength(0);
  });

  it('the previous channel is still accepted during a renewal overlap', async () => {
    const d = testDeps(db, sim.url);
    await db.doc(paths.subscription(seeded.subscriptionId)).update({
      previousChannel: (await readSub(db, seeded.subscriptionId)).channel,
      'channel.id': 'new-channel',
    });
    expect((await handleSyncMessage(d, notification(seeded, channel))).outcome).toBe('synced');
  });

  it('a notification numbered at or below what a completed run covered is skipped; resyncs by publish time', async () => {
    const d = testDeps(db, sim.url, { config: { clockSkewMs: 2_000 } });
    const first = notification(seeded, channel, { messageNumber: 50 });
    expect((await handleSyncMessage(d, first)).outcome).toBe('synced');
    await ctl.clearRequests();
    // Google's own counter, no clocks: #50 again (redelivery) and #40 (late) were covered.
    expect((await handleSyncMessage(d, first)).outcome).toBe('covered');
    expect(
      (await handleSyncMessage(d, notification(seeded, channel, { messageNumber: 40 }))).outcome,
    ).toBe('covered');
    // A resync published before the last completed sync started (minus skew): covered.
    const old = new Date(Date.now() - 10_000).toISOString();
    expect((await handleSyncMessage(d, resync(seeded, { requestedAt: old }))).outcome).toBe(
      'covered',
    );
    expect(await ctl.requests()).toHaveLength(0);
    // A newer message number syncs, whatever its timestamps say.
    expect(
      (
        await handleSyncMessage(
          d,
          notification(seeded, channel, { messageNumber: 51, receivedAt: old }),
        )
      ).outcome,
    ).toBe('synced');
    // Within the skew margin a resync is not skipped: syncing once too often is the safe side.
    const recent = new Date(Date.now() + 1_000).toISOString();
    expect((await handleSyncMessage(d, resync(seeded, { requestedAt: recent }))).outcome).toBe(
      'synced',
    );
    // A requested full resync is never skipped.
    expect(
      (await handleSyncMessage(d, resync(seeded, { requestedAt: old, full: true }))).outcome,
    ).toBe('synced');
  });
});
