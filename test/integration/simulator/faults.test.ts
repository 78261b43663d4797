// Conformance: per-user rate limit and injected faults in Google's error shapes; latency;
// 404 for deleted or unshared calendars; the request log.
import { describe, expect, it } from 'vitest';
import { googleCalendar } from '../../simulator/client.js';
import { simulatorUserFixture } from '../../harness/fixtures.js';
import { failure, googleErrorBody } from './helpers.js';

describe('quotas and faults', () => {
  const google = simulatorUserFixture({
    simulator: { rateLimitPerMinute: 5 },
    user: { email: 'f@example.com', refreshToken: 'rt-f' },
  });
  /** A fresh client of the fixture's user, the rate limit out of the way (the faults are the subject). */
  const unlimitedClient = async () => {
    await google.ctl.setRateLimit(1000);
    return googleCalendar(google.sim.url, 'rt-f').calendar;
  };

  it('over the per-user rate: 403 userRateLimitExceeded (usageLimits), not retried by the client', async () => {
    const { calendar } = googleCalendar(google.sim.url, 'rt-f');
    for (let i = 0; i < 5; i++) await calendar.events.list({ calendarId: 'primary' });
    await google.ctl.clearRequests();
    const err = await failure(calendar.events.list({ calendarId: 'primary' }));
    expect(err.status).toBe(403);
    expect(err.data).toEqual(
      googleErrorBody(403, 'usageLimits', 'userRateLimitExceeded', 'User Rate Limit Exceeded'),
    );
    expect((await google.ctl.requests()).length).toBe(1);
    // The window is a minute on the simulated clock.
    await google.ctl.advanceClock(61_000);
    expect((await calendar.events.list({ calendarId: 'primary' })).status).toBe(200);
  });

  it('Google’s current quota answers: per user 403 rateLimitExceeded (PERMISSION_DENIED), per project 403 quotaExceeded', async () => {
    // Per user: recorded in Atrejoe/Inky-Calendar-Server#104 (reason rateLimitExceeded, domain
    // usageLimits, the quota text) and alextselegidis/easyappointments#995 (status
    // PERMISSION_DENIED). Per project: the "Queries per minute" text of calcom/google.cal.diy#18079.
    await google.ctl.setRealism({ userRateLimitReason: 'rateLimitExceeded' });
    const { calendar } = googleCalendar(google.sim.url, 'rt-f');
    for (let i = 0; i < 5; i++) await calendar.events.list({ calendarId: 'primary' });
    const user = await failure(calendar.events.list({ calendarId: 'primary' }));
    const userMsg =
      "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'calendar-json.googleapis.com' for consumer 'project_number:1077004567890'.";
    expect(user.status).toBe(403);
    expect(user.data).toEqual({
      error: {
        code: 403,
        message: userMsg,
        errors: [{ message: userMsg, domain: 'usageLimits', reason: 'rateLimitExceeded' }],
        status: 'PERMISSION_DENIED',
      },
    });
    // The project limit counts every user's calls.
    await google.ctl.advanceClock(61_000);
    await google.ctl.setRateLimit(1000);
    await google.ctl.setRealism({ projectRateLimitPerMinute: 3 });
    await google.ctl.createUser('g@example.com', 'rt-g');
    const g = googleCalendar(google.sim.url, 'rt-g').calendar;
    await calendar.events.list({ calendarId: 'primary' });
    await g.events.list({ calendarId: 'primary' });
    await calendar.events.list({ calendarId: 'primary' });
    const project = await failure(g.events.list({ calendarId: 'primary' }));
    expect(project.status).toBe(403);
    const projectMsg =
      "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'calendar-json.googleapis.com' for consumer 'project_number:1077004567890'.";
    expect(project.data).toEqual({
      error: {
        code: 403,
        message: projectMsg,
        errors: [{ message: projectMsg, domain: 'usageLimits', reason: 'quotaExceeded' }],
        status: 'PERMISSION_DENIED',
      },
    });
  });

  it('an injected 429 rateLimitExceeded has Google’s shape and is consumed after `count` matches', async () => {
    const calendar = await unlimitedClient();
    await google.ctl.addFault({
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
    expect(err.data).toEqual(
      googleErrorBody(429, 'usageLimits', 'rateLimitExceeded', 'Rate Limit Exceeded'),
    );
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
    const calendar = await unlimitedClient();
    await calendar.events.list({ calendarId: 'primary' }); // obtain a token first
    await google.ctl.addFault({ method: 'GET', path: '/\\/events$/', status: 503, count: 2 });
    await google.ctl.clearRequests();
    expect((await calendar.events.list({ calendarId: 'primary' })).status).toBe(200);
    const log = await google.ctl.requests();
    expect(log.map((r) => r.status)).toEqual([503, 503, 200]);
    expect(log[0]).toMatchObject({
      method: 'GET',
      path: '/calendar/v3/calendars/primary/events',
      query: {},
    });
    await google.ctl.addFault({
      path: '/calendar/v3/users/me/calendarList',
      status: 403,
      reason: 'quotaExceeded',
      count: 1,
    });
    const q = await failure(calendar.calendarList.list());
    expect(q.data).toEqual(
      googleErrorBody(403, 'usageLimits', 'quotaExceeded', 'Calendar usage limits exceeded.'),
    );
  });

  it('a hold fault computes the answer on arrival and withholds it until released', async () => {
    const calendar = await unlimitedClient();
    const ev = { start: { date: '2025-01-01' }, end: { date: '2025-01-02' } };
    await calendar.events.insert({ calendarId: 'primary', requestBody: { summary: 'a', ...ev } });
    await google.ctl.addFault({ method: 'GET', path: '/\\/events$/', hold: true, count: 1 });
    const slow = calendar.events.list({ calendarId: 'primary' });
    const [held] = await google.ctl.waitForHeld(1);
    expect(held).toMatchObject({
      method: 'GET',
      path: '/calendar/v3/calendars/primary/events',
      user: 'f@example.com',
    });
    // Changes after arrival are not in the withheld answer; other calls are not held.
    await calendar.events.insert({ calendarId: 'primary', requestBody: { summary: 'b', ...ev } });
    const fresh = await calendar.events.list({ calendarId: 'primary' });
    expect(fresh.data.items?.map((e) => e.summary).sort()).toEqual(['a', 'b']);
    await google.ctl.releaseHeld(held!.id);
    const stale = await slow;
    expect(stale.data.items?.map((e) => e.summary)).toEqual(['a']);
    expect(await google.ctl.heldRequests()).toEqual([]);
    // The stale answer's token still leads to the later change.
    const delta = await calendar.events.list({
      calendarId: 'primary',
      syncToken: stale.data.nextSyncToken!,
    });
    expect(delta.data.items?.map((e) => e.summary)).toEqual(['b']);
    // Release-all.
    await google.ctl.addFault({
      method: 'GET',
      path: '/calendar/v3/calendars/',
      hold: true,
      count: 2,
    });
    const two = [
      calendar.events.list({ calendarId: 'primary' }),
      calendar.calendars.get({ calendarId: 'primary' }),
    ];
    await google.ctl.waitForHeld(2);
    expect(await google.ctl.releaseAllHeld()).toBe(2);
    expect((await Promise.all(two)).map((r) => r.status)).toEqual([200, 200]);
  });

  it('a latency fault sends the answer computed on arrival, later', async () => {
    const calendar = await unlimitedClient();
    const ev = { start: { date: '2025-01-01' }, end: { date: '2025-01-02' } };
    await calendar.events.list({ calendarId: 'primary' }); // obtain a token first
    await google.ctl.addFault({ method: 'GET', path: '/\\/events$/', latencyMs: 1500, count: 1 });
    await google.ctl.clearRequests();
    const slow = calendar.events.list({ calendarId: 'primary' });
    // Wait until the simulator has computed the answer (the request log has its status).
    while (!(await google.ctl.requests()).some((r) => r.status === 200))
      await new Promise((r) => setTimeout(r, 10));
    await calendar.events.insert({
      calendarId: 'primary',
      requestBody: { summary: 'late', ...ev },
    });
    expect((await slow).data.items).toEqual([]);
  });

  it('5xx answers can be Google’s HTML error page instead of JSON', async () => {
    const calendar = await unlimitedClient();
    await google.ctl.addFault({
      method: 'POST',
      path: '/calendar/v3/',
      status: 502,
      body: 'html',
      count: 1,
    });
    const err = (await calendar.events
      .insert({
        calendarId: 'primary',
        requestBody: { start: { date: '2025-01-01' }, end: { date: '2025-01-02' } },
      })
      .catch((e: unknown) => e)) as {
      status: number;
      response: { data: unknown; headers: Headers | Record<string, string> };
    };
    expect(err.status).toBe(502);
    expect(typeof err.response.data).toBe('string');
    expect(err.response.data).toContain('<title>Error 502 (Server Error)!!1</title>');
    expect(err.response.data).toContain('That’s an error.');
  });

  it('latency delays answers', async () => {
    const calendar = await unlimitedClient();
    await calendar.events.list({ calendarId: 'primary' });
    await google.ctl.setLatency(150);
    const t0 = Date.now();
    await calendar.events.list({ calendarId: 'primary' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('a deleted or unshared calendar answers 404 notFound', async () => {
    await google.ctl.setRateLimit(1000);
    await google.ctl.createUser('g@example.com', 'rt-g');
    const shared = await google.ctl.createCalendar('f@example.com', { summary: 'shared' });
    await google.ctl.shareCalendar(shared, 'g@example.com');
    const gone = await google.ctl.createCalendar('g@example.com', { summary: 'gone' });
    const g = googleCalendar(google.sim.url, 'rt-g').calendar;
    expect((await g.events.list({ calendarId: shared })).status).toBe(200);
    expect((await g.calendars.get({ calendarId: gone })).data.summary).toBe('gone');
    await google.ctl.unshareCalendar(shared, 'g@example.com');
    await google.ctl.deleteCalendar(gone);
    for (const calendarId of [shared, gone]) {
      const err = await failure(g.events.list({ calendarId }));
      expect(err.status).toBe(404);
      expect(err.data).toEqual(googleErrorBody(404, 'global', 'notFound', 'Not Found'));
    }
    // The owner still sees the unshared calendar.
    expect(
      (await googleCalendar(google.sim.url, 'rt-f').calendar.events.list({ calendarId: shared }))
        .status,
    ).toBe(200);
  });
});
