// Failure paths: invalid_grant, rate-limit bursts with bounded backoff, 404 calendar, malformed / stale / covered messages.
import { beforeEach, describe, expect, it } from 'vitest';
import { CalendarError } from '../../../functions/calendar/errors.js';
import { handleSyncMessage } from '../../../functions/sync/handle.js';
import { runSync } from '../../../functions/sync/engine.js';
import { paths } from '../../../functions/store/schema.js';
import { emulatorsMissing } from '../../harness/env.js';
import { insertMany, notification, resync, syncFixture } from './helpers.js';

describe.skipIf(emulatorsMissing() !== '')('sync worker failure paths', () => {
  const f = syncFixture({ name: 'err', simulator: { seed: 17 }, channel: 'watch' });
  beforeEach(async () => {
    await insertMany(f.cal, f.email, 5);
  });

  /** The next `count` GETs of the Calendar API fail with `status` (and Google's `reason`). */
  const failReads = (status: number, count: number, reason?: string) =>
    f.ctl.addFault({ method: 'GET', path: '/calendar/v3/calendars/', status, reason, count });
  const stops = async () =>
    (await f.ctl.requests()).filter((r) => r.path === '/calendar/v3/channels/stop');

  it('invalid_grant: needs_reauth on subscription and calendar, acknowledged, no retry', async () => {
    const d = f.deps();
    await runSync(d, f.seeded.subscriptionId);
    await f.ctl.revoke(f.seeded.calendarId);
    const res = await handleSyncMessage(d, f.notification());
    expect(res.outcome).toBe('needs_reauth');
    const sub = await f.readSub();
    expect(sub.status).toBe('needs_reauth');
    expect(sub.lastError).toMatchObject({ code: 'invalid_grant' });
    expect(sub.lease).toBeNull();
    expect((await f.calendarDoc())!.sync).toMatchObject({
      status: 'needs_reauth',
      lastError: { code: 'invalid_grant' },
    });
    expect((await f.db.doc(paths.credentials(f.seeded.uid)).get()).get('status')).toBe('revoked');
    // Later messages are acknowledged without calling Google.
    await f.ctl.clearRequests();
    expect((await handleSyncMessage(d, f.notification())).outcome).toBe('inactive');
    expect(await f.ctl.requests()).toHaveLength(0);
    // Nothing secret in the logs.
    expect(JSON.stringify(d.lines)).not.toContain(f.seeded.refreshToken);
  });

  it('rate-limit bursts: backoff inside the budget, final state still correct', async () => {
    const retries: number[] = [];
    const d = f.deps({
      config: { retryBudgetMs: 3_000 },
      apiOptions: { onRetry: (r) => retries.push(r.delayMs) },
    });
    await runSync(d, f.seeded.subscriptionId);
    await insertMany(f.cal, f.seeded.calendarId, 3);
    await failReads(403, 2, 'userRateLimitExceeded');
    await failReads(429, 1, 'rateLimitExceeded');
    await failReads(503, 1);
    const res = await handleSyncMessage(d, f.notification());
    expect(res.outcome).toBe('synced');
    expect(retries).toHaveLength(4);
    expect(retries.every((ms) => ms >= 0 && ms <= 200)).toBe(true); // full jitter under the cap
    await f.sameAsGoogle();
  });

  it('a burst longer than the budget: the message fails (redelivery), the lease is released, the retry converges', async () => {
    const pauses: number[] = [];
    const d = f.deps({
      config: { retryBudgetMs: 300 },
      apiOptions: { onRetry: (r) => pauses.push(r.delayMs) },
    });
    await runSync(d, f.seeded.subscriptionId);
    await insertMany(f.cal, f.seeded.calendarId, 2);
    await failReads(429, 1000, 'rateLimitExceeded');
    const err = await handleSyncMessage(d, f.notification()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CalendarError);
    expect(err).toMatchObject({ kind: 'rate_limited' });
    // It gave up inside its budget: the pauses it took add up to at most 300 ms.
    expect(pauses.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(300);
    const sub = await f.readSub();
    expect(sub.lease).toBeNull();
    expect(sub.status).toBe('active');
    expect(sub.lastError).toMatchObject({ code: 'rate_limited' });
    await f.ctl.clearFaults();
    expect((await handleSyncMessage(d, f.notification())).outcome).toBe('synced');
    await f.sameAsGoogle();
  });

  it('404 calendar: removed, channel stopped, data deleted', async () => {
    const d = f.deps();
    await runSync(d, f.seeded.subscriptionId);
    expect((await f.mirror()).size).toBe(5);
    await f.ctl.deleteCalendar(f.seeded.calendarId);
    await f.ctl.clearRequests();
    const res = await handleSyncMessage(d, f.notification());
    expect(res.outcome).toBe('removed');
    expect((await f.readSub()).status).toBe('removed');
    expect((await f.calendarDoc())!.sync.status).toBe('removed');
    expect((await stops()).length).toBe(1);
    expect((await f.mirror()).size).toBe(0);
    expect((await f.readSub()).channel).toBeNull();
  });

  it('404 with keepDataOnRemove keeps the events', async () => {
    const d = f.deps({ config: { keepDataOnRemove: true } });
    await runSync(d, f.seeded.subscriptionId);
    await f.ctl.deleteCalendar(f.seeded.calendarId);
    expect((await handleSyncMessage(d, f.notification())).outcome).toBe('removed');
    expect((await f.mirror()).size).toBe(5);
  });

  it('not_exists is a hint: removed only once Google confirms the calendar is gone', async () => {
    const d = f.deps();
    await runSync(d, f.seeded.subscriptionId);
    const before = (await f.mirror()).size;
    // A spurious (or replayed) not_exists for a calendar Google still serves: synced, nothing wiped.
    await f.ctl.clearRequests();
    const spurious = await handleSyncMessage(d, f.notification({ state: 'not_exists' }));
    expect(spurious.outcome).toBe('synced');
    expect((await f.readSub()).status).toBe('active');
    expect((await f.mirror()).size).toBe(before);
    expect(await stops()).toHaveLength(0);
    expect(
      (await f.ctl.requests()).some(
        (r) => r.method === 'GET' && /\/calendars\/[^/]+$/.test(r.path),
      ),
    ).toBe(true);
    // Really deleted: calendars.get answers 404 → removed, channel stopped, data gone, no listing.
    await f.ctl.deleteCalendar(f.seeded.calendarId);
    await f.ctl.clearRequests();
    const gone = await handleSyncMessage(d, f.notification({ state: 'not_exists' }));
    expect(gone.outcome).toBe('removed');
    expect((await f.ctl.requests()).filter((r) => r.path.endsWith('/events'))).toHaveLength(0);
    expect((await stops()).length).toBe(1);
    expect((await f.readSub()).status).toBe('removed');
    expect((await f.mirror()).size).toBe(0);
  });

  it('malformed messages are acknowledged and logged as errors', async () => {
    const d = f.deps();
    for (const data of [
      undefined,
      'garbage',
      { v: 2, kind: 'notification' },
      { ...f.notification().data, channelId: '' },
    ]) {
      expect((await handleSyncMessage(d, { data })).outcome).toBe('malformed');
    }
    expect(
      d.lines.filter(
        (l) => l.severity === 'ERROR' && l.message === 'malformed sync message acknowledged',
      ),
    ).toHaveLength(4);
  });

  it('unknown subscription, stale channel (not stopped: not recorded as retired), resource mismatch: acknowledged', async () => {
    const d = f.deps();
    const ghost = { ...f.seeded, subscriptionId: 's_AAAAAAAAAAAAAAAAAAAAAAAA' };
    expect((await handleSyncMessage(d, notification(ghost, f.channel))).outcome).toBe(
      'unknown_subscription',
    );
    await f.ctl.clearRequests();
    const stale = await handleSyncMessage(
      d,
      notification(f.seeded, { id: 'old-channel', resourceId: f.channel.resourceId }),
    );
    expect(stale.outcome).toBe('stale_channel');
    // A channel calsync never recorded as retired may be in flight (issue 13.4): left alone.
    expect((await stops()).length).toBe(0);
    const mismatch = await handleSyncMessage(
      d,
      notification(f.seeded, { id: f.channel.id, resourceId: 'someone-else' }),
    );
    expect(mismatch.outcome).toBe('resource_mismatch');
    expect((await f.ctl.requests()).filter((r) => r.path.endsWith('/events'))).toHaveLength(0);
  });

  it('the previous channel is still accepted during a renewal overlap', async () => {
    const d = f.deps();
    await f.db.doc(paths.subscription(f.seeded.subscriptionId)).update({
      previousChannel: (await f.readSub()).channel,
      'channel.id': 'new-channel',
    });
    expect((await handleSyncMessage(d, f.notification())).outcome).toBe('synced');
  });

  it('a notification numbered at or below what a completed run covered is skipped; resyncs by publish time', async () => {
    const d = f.deps({ config: { clockSkewMs: 2_000 } });
    const first = f.notification({ messageNumber: 50 });
    expect((await handleSyncMessage(d, first)).outcome).toBe('synced');
    await f.ctl.clearRequests();
    // Google's own counter, no clocks: #50 again (redelivery) and #40 (late) were covered.
    expect((await handleSyncMessage(d, first)).outcome).toBe('covered');
    expect((await handleSyncMessage(d, f.notification({ messageNumber: 40 }))).outcome).toBe(
      'covered',
    );
    // A resync published before the last completed sync started (minus skew): covered.
    const old = new Date(Date.now() - 10_000).toISOString();
    expect((await handleSyncMessage(d, resync(f.seeded, { requestedAt: old }))).outcome).toBe(
      'covered',
    );
    expect(await f.ctl.requests()).toHaveLength(0);
    // A newer number that the webhook received before that listing began (beyond the skew) is
    // covered too (decision 007, receive time); received since, it syncs.
    expect(
      (await handleSyncMessage(d, f.notification({ messageNumber: 51, receivedAt: old }))).outcome,
    ).toBe('covered');
    expect(await f.ctl.requests()).toHaveLength(0);
    expect((await handleSyncMessage(d, f.notification({ messageNumber: 52 }))).outcome).toBe(
      'synced',
    );
    // Within the skew margin a resync is not skipped: syncing once too often is the safe side.
    const recent = new Date(Date.now() + 1_000).toISOString();
    expect((await handleSyncMessage(d, resync(f.seeded, { requestedAt: recent }))).outcome).toBe(
      'synced',
    );
    // A requested full resync is never skipped.
    expect(
      (await handleSyncMessage(d, resync(f.seeded, { requestedAt: old, full: true }))).outcome,
    ).toBe('synced');
  });
});
