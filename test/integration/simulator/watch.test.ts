// Conformance: events.watch / calendarList.watch / channels.stop validation and the notification
// stream as a real loopback HTTP listener receives it.
import type { calendar_v3 } from '@googleapis/calendar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { googleCalendar } from '../../simulator/client.js';
import { simulatorUserFixture } from '../../harness/fixtures.js';
import { startWebhookListener, type WebhookListener } from '../../simulator/webhook-listener.js';
import { failure } from './helpers.js';

const timed = {
  start: { dateTime: '2025-03-01T09:00:00Z' },
  end: { dateTime: '2025-03-01T10:00:00Z' },
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('watch channels and notifications', () => {
  const google = simulatorUserFixture({
    simulator: { seed: 5, notificationRetryBaseMs: 20 },
    user: { email: 'w@example.com', refreshToken: 'rt-w' },
  });
  let hook: WebhookListener;

  beforeEach(async () => {
    hook = await startWebhookListener();
  });
  afterEach(() => hook.close());

  const watch = (
    id: string,
    extra: Partial<calendar_v3.Schema$Channel> = {},
    calendarId = 'primary',
  ) =>
    google.cal.events.watch({
      calendarId,
      requestBody: { id, type: 'web_hook', address: hook.url, ...extra },
    });

  it('answers with an api#channel: ms-string expiration (default ttl 7 days), same resourceId per calendar', async () => {
    const before = await google.ctl.now();
    const a = (await watch('chan-a', { token: 'tok-a' })).data;
    const b = (await watch('chan-b')).data;
    expect(Object.keys(a).sort()).toEqual([
      'expiration',
      'id',
      'kind',
      'resourceId',
      'resourceUri',
      'token',
    ]);
    expect(a.kind).toBe('api#channel');
    expect(a.id).toBe('chan-a');
    expect(a.token).toBe('tok-a');
    expect(a.expiration).toMatch(/^\d+$/);
    const ttl = Number(a.expiration) - before;
    expect(ttl).toBeGreaterThan(604_800_000 - 10_000);
    expect(ttl).toBeLessThanOrEqual(604_800_000 + 10_000);
    expect(b.resourceId).toBe(a.resourceId);
    const c = (await watch('chan-c', { params: { ttl: '3600' } })).data;
    expect(Number(c.expiration) - before).toBeLessThanOrEqual(3_600_000 + 10_000);
  });

  it('validates: id ≤ 64 and unique, https unless loopback, token ≤ 256, push support', async () => {
    expect(await failure(watch('x'.repeat(65)))).toMatchObject({ status: 400 });
    await watch('dup');
    expect(await failure(watch('dup'))).toMatchObject({
      status: 400,
      reason: 'channelIdNotUnique',
    });
    expect(
      await failure(
        google.cal.events.watch({
          calendarId: 'primary',
          requestBody: { id: 'h1', type: 'web_hook', address: 'http://example.com/hook' },
        }),
      ),
    ).toMatchObject({ status: 400, reason: 'push.webhookUrlNotHttps' });
    for (const address of [
      'http://localhost:1/h',
      'http://127.0.0.2:1/h',
      'http://[::1]:1/h',
      'https://127.0.0.1:1/h',
    ]) {
      const r = await google.cal.events.watch({
        calendarId: 'primary',
        requestBody: {
          id: `ok-${address.length}-${address.charCodeAt(8)}`,
          type: 'web_hook',
          address,
        },
      });
      expect(r.status).toBe(200);
    }
    expect(await failure(watch('t1', { token: 't'.repeat(257) }))).toMatchObject({ status: 400 });
    expect((await watch('t2', { token: 't'.repeat(256) })).status).toBe(200);
    const sec = await google.ctl.createCalendar('w@example.com', { summary: 'holidays' });
    await google.ctl.setPushUnsupported(sec);
    expect(await failure(watch('np', {}, sec))).toMatchObject({
      status: 400,
      reason: 'pushNotSupportedForRequestedResource',
    });
  });

  it('sends sync #1, then exists per change: empty body, APIs-Google agent, every X-Goog header, increasing numbers', async () => {
    const ch = (await watch('stream', { token: 'secret-token' })).data;
    await hook.waitFor(1);
    for (let i = 0; i < 4; i++) await google.insert({ summary: `e${i}`, ...timed });
    await google.sim.idle();
    const got = await hook.waitFor(5);
    expect(got.map((n) => n.headers['x-goog-resource-state'])).toEqual([
      'sync',
      'exists',
      'exists',
      'exists',
      'exists',
    ]);
    expect(got[0]!.headers['x-goog-message-number']).toBe('1');
    const numbers = got.map((n) => Number(n.headers['x-goog-message-number']));
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]).toBeGreaterThan(numbers[i - 1]!);
    for (const n of got) {
      expect(n.method).toBe('POST');
      expect(n.body).toBe('');
      expect(n.headers['user-agent']).toMatch(/^APIs-Google/);
      expect(n.headers['x-goog-channel-id']).toBe('stream');
      expect(n.headers['x-goog-channel-token']).toBe('secret-token');
      expect(n.headers['x-goog-resource-id']).toBe(ch.resourceId);
      expect(n.headers['x-goog-resource-uri']).toBe(ch.resourceUri);
      expect(n.headers['x-goog-channel-expiration']).toBe(
        new Date(Number(ch.expiration)).toUTCString(),
      );
      expect(n.headers['x-goog-channel-expiration']).toMatch(
        /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/,
      );
    }
  });

  it('message numbers have gaps (not consecutive) over many changes', async () => {
    await watch('gaps');
    for (let i = 0; i < 10; i++) await google.insert(timed);
    await google.sim.idle();
    const numbers = hook.received.map((n) => Number(n.headers['x-goog-message-number']));
    expect(numbers.length).toBe(11);
    expect(numbers.some((n, i) => i > 0 && n - numbers[i - 1]! > 1)).toBe(true);
  });

  it('retries on 503 with backoff but not on 404', async () => {
    await watch('retry');
    await hook.waitFor(1);
    hook.respondWith((_n, i) => (i === 1 || i === 2 ? 503 : 200));
    await google.insert(timed);
    await google.sim.idle();
    expect(hook.received.map((n) => n.status)).toEqual([200, 503, 503, 200]);
    const nums = hook.received.slice(1).map((n) => n.headers['x-goog-message-number']);
    expect(new Set(nums).size).toBe(1); // the same message, redelivered
    hook.respondWith(() => 404);
    await google.insert(timed);
    await google.sim.idle();
    expect(hook.received.length).toBe(5);
  });

  it('nothing after channels.stop (204); stop of unknown or someone else’s channel is 404', async () => {
    const ch = (await watch('stop-me')).data;
    await hook.waitFor(1);
    const r = await google.cal.channels.stop({
      requestBody: { id: ch.id, resourceId: ch.resourceId },
    });
    expect(r.status).toBe(204);
    await google.insert(timed);
    await google.sim.idle();
    await sleep(50);
    expect(hook.received.length).toBe(1);
    expect(
      await failure(
        google.cal.channels.stop({ requestBody: { id: ch.id, resourceId: ch.resourceId } }),
      ),
    ).toMatchObject({ status: 404 });
    expect(
      await failure(google.cal.channels.stop({ requestBody: { id: 'never', resourceId: 'x' } })),
    ).toMatchObject({ status: 404 });
    await watch('mine');
    await google.ctl.createUser('other@example.com', 'rt-other');
    const other = googleCalendar(google.sim.url, 'rt-other').calendar;
    const mine = (await google.ctl.channels()).find((c) => c.id === 'mine')!;
    expect(
      await failure(
        other.channels.stop({ requestBody: { id: 'mine', resourceId: mine.resourceId } }),
      ),
    ).toMatchObject({ status: 404 });
  });

  it('a configured straggler may arrive once after stop', async () => {
    const ch = (await watch('straggle')).data;
    await hook.waitFor(1);
    await google.ctl.setStragglerAfterStop(1);
    await google.cal.channels.stop({ requestBody: { id: ch.id, resourceId: ch.resourceId } });
    await google.sim.idle();
    expect(hook.received.map((n) => n.headers['x-goog-resource-state'])).toEqual([
      'sync',
      'exists',
    ]);
  });

  it('nothing after the channel expired on the simulated clock', async () => {
    await watch('short', { params: { ttl: '60' } });
    await hook.waitFor(1);
    await google.ctl.advanceClock(61_000);
    await google.insert(timed);
    await google.sim.idle();
    expect(hook.received.length).toBe(1);
    expect((await google.ctl.channels()).find((c) => c.id === 'short')!.expired).toBe(true);
  });

  it('drops a share of notifications when a drop rate is set', async () => {
    await watch('lossy');
    await hook.waitFor(1);
    await google.ctl.setDropRate(1);
    await google.insert(timed);
    await google.sim.idle();
    expect(hook.received.length).toBe(1);
    expect((await google.ctl.notifications()).some((d) => d.status === -1)).toBe(true);
  });

  it('calendarList.watch notifies on calendar list changes; a deleted calendar sends not_exists', async () => {
    await google.cal.calendarList.watch({
      requestBody: { id: 'list', type: 'web_hook', address: hook.url },
    });
    await hook.waitFor(1);
    const sec = await google.ctl.createCalendar('w@example.com', { summary: 'team' });
    await google.sim.idle();
    expect(
      hook.received.map((n) => [
        n.headers['x-goog-channel-id'],
        n.headers['x-goog-resource-state'],
      ]),
    ).toEqual([
      ['list', 'sync'],
      ['list', 'exists'],
    ]);
    await watch('sec', {}, sec);
    await google.ctl.deleteCalendar(sec);
    await google.sim.idle();
    const states = hook.received
      .filter((n) => n.headers['x-goog-channel-id'] === 'sec')
      .map((n) => n.headers['x-goog-resource-state']);
    expect(states).toEqual(['sync', 'not_exists']);
  });
});
