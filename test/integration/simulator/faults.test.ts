// Conformance: per-user rate limit and injected faults in Google's error shapes; latency;
// 404 for deleted or unshared calendars; the request log.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { googleCalendar, SimulatorClient } from '../../simulator/client.js';
import { startSimulator, type Simulator } from '../../simulator/index.js';

async function failure(p: Promise<unknown>): Promise<{ status?: number; data?: unknown }> {
  try {
    await p;
  } catch (e) {
    const err = e as { status?: number; response?: { data?: unknown } };
    return { status: err.status, data: err.response?.data };
  }
  throw new Error('expected the call to fail');
}

describe('quotas and faults', () => {
  let sim: Simulator;
  let ctl: SimulatorClient;

  beforeEach(async () => {
    sim = await startSimulator({ rateLimitPerMinute: 5 });
    ctl = new SimulatorClient(sim.url);
    await ctl.createUser('f@example.com', 'rt-f');
  });
  afterEach(() => sim.close());

  it('over the per-user rate: 403 userRateLimitExceeded (usageLimits), not retried by the client', async () => {
    const { calendar } = googleCalendar(sim.url, 'rt-f');
    for (let i = 0; i < 5; i++) await calendar.events.list({ calendarId: 'primary' });
    await ctl.clearRequests();
    const err = await failure(calendar.events.list({ calendarId: 'primary' }));
    expect(err.status).toBe(403);
    expect(err.data).toEqual({
      error: {
        errors: [
          {
            domain: 'usageLimits',
            reason: 'userRateLimitExceeded',
            message: 'User Rate Limit Exceeded',
          },
        ],
        code: 403,
        message: 'User Rate Limit Exceeded',
      },
    });
    expect((await ctl.requests()).length).toBe(1);
    // The window is a minute on the simulated clock.
    await ctl.advanceClock(61_000);
    expect((await calendar.events.list({ calendarId: 'primary' })).status).toBe(200);
  });

  it('an injected 429 rateLimitExceeded has Google’s shape and is consumed after `count` matches', async () => {
    await ctl.setRateLimit(1000);
    const { calendar } = googleCalendar(sim.url, 'rt-f');
    await ctl.addFault({
      method: 'POST',
      path: '/calendar/v3/calendars/',
      status: 429,
      reason: 'rateLimitExceeded',
      count: 1,
    });
    const err = await failure(
      calendar.events.insert({
        calendarId: 'primary',
        requestBody: { start: { date: '2025-01-01' }, end: { date: '2025-01-02' } },
      }),
    );
    expect(err.status).toBe(429);
    expect(err.data).toEqual({
      error: {
        errors: [
          { domain: 'usageLimits', reason: 'rateLimitExceeded', message: 'Rate Limit Exceeded' },
        ],
        code: 429,
        message: 'Rate Limit Exceeded',
      },
    });
    expect(
      (
        await calendar.events.insert({
          calendarId: 'primary',
          requestBody: { start: { date: '2025-01-01' }, end: { date: '2025-01-02' } },
        })
      ).status,
    ).toBe(200);
  });

  it('faults match by method and path regex; GETs are retried by the client (gaxios) on 503', async () => {
    await ctl.setRateLimit(1000);
    const { calendar } = googleCalendar(sim.url, 'rt-f');
    await calendar.events.list({ calendarId: 'primary' }); // obtain a token first
    await ctl.addFault({ method: 'GET', path: '/\\/events$/', status: 503, count: 2 });
    await ctl.clearRequests();
    expect((await calendar.events.list({ calendarId: 'primary' })).status).toBe(200);
    const log = await ctl.requests();
    expect(log.map((r) => r.status)).toEqual([503, 503, 200]);
    expect(log[0]).toMatchObject({
      method: 'GET',
      path: '/calendar/v3/calendars/primary/events',
      query: {},
    });
    await ctl.addFault({
      path: '/calendar/v3/users/me/calendarList',
      status: 403,
      reason: 'quotaExceeded',
      count: 1,
    });
    const q = await failure(calendar.calendarList.list());
    expect(q.data).toEqual({
      error: {
        errors: [
          {
            domain: 'usageLimits',
            reason: 'quotaExceeded',
            message: 'Calendar usage limits exceeded.',
          },
        ],
        code: 403,
        message: 'Calendar usage limits exceeded.',
      },
    });
  });

  it('latency delays answers', async () => {
    await ctl.setRateLimit(1000);
    const { calendar } = googleCalendar(sim.url, 'rt-f');
    await calendar.events.list({ calendarId: 'primary' });
    await ctl.setLatency(150);
    const t0 = Date.now();
    await calendar.events.list({ calendarId: 'primary' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('a deleted or unshared calendar answers 404 notFound', async () => {
    await ctl.setRateLimit(1000);
    await ctl.createUser('g@example.com', 'rt-g');
    const shared = await ctl.createCalendar('f@example.com', { summary: 'shared' });
    await ctl.shareCalendar(shared, 'g@example.com');
    const gone = await ctl.createCalendar('g@example.com', { summary: 'gone' });
    const g = googleCalendar(sim.url, 'rt-g').calendar;
    expect((await g.events.list({ calendarId: shared })).status).toBe(200);
    expect((await g.calendars.get({ calendarId: gone })).data.summary).toBe('gone');
    await ctl.unshareCalendar(shared, 'g@example.com');
    await ctl.deleteCalendar(gone);
    for (const calendarId of [shared, gone]) {
      const err = await failure(g.events.list({ calendarId }));
      expect(err.status).toBe(404);
      expect(err.data).toEqual({
        error: {
          errors: [{ domain: 'global', reason: 'notFound', message: 'Not Found' }],
          code: 404,
          message: 'Not Found',
        },
      });
    }
    // The owner still sees the unshared calendar.
    expect(
      (await googleCalendar(sim.url, 'rt-f').calendar.events.list({ calendarId: shared })).status,
    ).toBe(200);
  });
});
