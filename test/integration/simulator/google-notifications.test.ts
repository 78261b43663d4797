// Conformance (issue 18, point 1): notifications promise only "something changed" — a change can
// become listable only after its notification (visibility lag), notifications come late, twice,
// or with nothing to list. All on the simulated clock. (Calendar-property and ACL changes that
// notify without a delta: google-tokens.test.ts.)
// Sources: compass-calendar#1190 (a delta fetched right after a notification can be empty; the
// change shows up only with a later one), webhookdb/webhookdb#563 (notifications a minute late),
// google-api-java-client-services#20532 (several notifications per change), push guide
// ("notifications are not 100% reliable"; https://developers.google.com/calendar/api/guides/push).
import type { calendar_v3 } from '@googleapis/calendar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { googleCalendar, SimulatorClient } from '../../simulator/client.js';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import { startWebhookListener, type WebhookListener } from '../../simulator/webhook-listener.js';

type Cal = calendar_v3.Calendar;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ev = (summary: string) => ({
  summary,
  start: { dateTime: '2025-07-01T10:00:00Z' },
  end: { dateTime: '2025-07-01T11:00:00Z' },
});

describe('notifications and visibility', () => {
  let sim: Simulator;
  let ctl: SimulatorClient;
  let cal: Cal;
  let hook: WebhookListener;

  beforeEach(async () => {
    sim = await startSimulator({ seed: 31, notificationRetryBaseMs: 20 });
    ctl = new SimulatorClient(sim.url);
    await ctl.createUser('n@example.com', 'rt-n');
    cal = googleCalendar(sim.url, 'rt-n').calendar;
    hook = await startWebhookListener();
    await cal.events.watch({
      calendarId: 'primary',
      requestBody: { id: 'n-chan', type: 'web_hook', address: hook.url },
    });
    await hook.waitFor(1); // the `sync` message
  });
  afterEach(async () => {
    await sim.close();
    await hook.close();
  });

  /** All pages of a listing (pages may be short or empty under the preset). */
  async function walk(syncToken?: string) {
    const items: calendar_v3.Schema$Event[] = [];
    let pageToken: string | undefined;
    for (;;) {
      const { data } = await cal.events.list({ calendarId: 'primary', syncToken, pageToken });
      items.push(...(data.items ?? []));
      if (!data.nextPageToken) return { items, token: data.nextSyncToken! };
      pageToken = data.nextPageToken;
    }
  }
  const syncToken = async () => (await walk()).token;
  const delta = async (token: string) => (await walk(token)).items;

  it('visibility lag: the notification arrives, the delta is still empty; the change is listable once the lag has passed', async () => {
    await ctl.setRealism({ visibilityLagMs: 300_000 });
    const token = await syncToken();
    const { data: a } = await cal.events.insert({ calendarId: 'primary', requestBody: ev('a') });
    await hook.waitFor(2);
    expect(hook.received[1]!.headers['x-goog-resource-state']).toBe('exists');
    // Listed right after the notification: nothing yet — and the token stays good.
    expect(await delta(token)).toEqual([]);
    const full = await walk();
    expect(full.items).toEqual([]);
    // events.get reads the latest state.
    expect((await cal.events.get({ calendarId: 'primary', eventId: a.id! })).data.summary).toBe(
      'a',
    );
    // A second change with a lag drawn anew still becomes listable after the first.
    await ctl.setRealism({ visibilityLagMs: 1_000 });
    await cal.events.patch({
      calendarId: 'primary',
      eventId: a.id!,
      requestBody: { summary: 'a2' },
    });
    await ctl.advanceClock(290_000);
    expect(await delta(token)).toEqual([]);
    await ctl.advanceClock(10_000);
    const later = await delta(token);
    expect(later.map((e) => e.summary)).toEqual(['a2']);
    // A token taken before the change was listable still leads to it (no change is lost).
    expect((await delta(full.token)).map((e) => e.id)).toEqual([a.id]);
  });

  it('notificationDelayMs: notifications arrive late, on the simulated clock', async () => {
    await ctl.setRealism({ notificationDelayMs: 60_000 });
    await cal.events.insert({ calendarId: 'primary', requestBody: ev('late') });
    await sleep(300);
    expect(hook.received.length).toBe(1);
    await ctl.advanceClock(60_000);
    await hook.waitFor(2);
    expect(hook.received[1]!.headers['x-goog-resource-state']).toBe('exists');
    // Already listable when it arrives: the delay is on delivery only.
    expect((await walk()).items.length).toBe(1);
  });

  it('duplicates and notifications without a delta: three notifications for one change, one item to list', async () => {
    await ctl.setRealism({ duplicateNotificationRate: 1, noDeltaNotificationRate: 1 });
    const token = await syncToken();
    await cal.events.insert({ calendarId: 'primary', requestBody: ev('once') });
    await sim.idle();
    const exists = hook.received.filter((n) => n.headers['x-goog-resource-state'] === 'exists');
    expect(exists.length).toBe(3);
    const numbers = exists.map((n) => Number(n.headers['x-goog-message-number']));
    expect(new Set(numbers).size).toBeGreaterThanOrEqual(2);
    expect(Math.min(...numbers)).toBeGreaterThan(1);
    expect((await delta(token)).map((e) => e.summary)).toEqual(['once']);
  });

  it('the google preset uses moderate values: lags of at most 1.5 s and 1 s, a few percent duplicates', async () => {
    const knobs = await ctl.setRealism({ preset: 'google' });
    expect(knobs).toMatchObject({
      visibilityLagMs: { min: 200, max: 1500 },
      notificationDelayMs: { min: 0, max: 1000 },
      duplicateNotificationRate: 0.03,
      noDeltaNotificationRate: 0.03,
    });
    const token = await syncToken();
    await cal.events.insert({ calendarId: 'primary', requestBody: ev('p') });
    // At most 1.5 s of visibility lag (simulated clock).
    await ctl.advanceClock(1_500);
    expect((await delta(token)).map((e) => e.summary)).toEqual(['p']);
    await sim.idle();
    expect(hook.received.length).toBeGreaterThanOrEqual(2);
    // Back to the kind defaults.
    expect(await ctl.setRealism({ preset: 'off' })).toMatchObject({ visibilityLagMs: 0 });
  });
});
