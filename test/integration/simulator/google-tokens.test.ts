// Conformance (issue 18, points 5 and 7): sync tokens die on sharing changes (acl.insert/acl.delete
// on Google's paths, or sharing in the UI) and after a lifetime; calendar properties change through
// calendars.patch/update. Both notify watchers without any delta.
// Sources: sync guide ("Sometimes sync tokens are invalidated by the server, for various reasons
// including token expiration or changes in related ACLs" —
// https://developers.google.com/calendar/api/guides/sync); calendarList.list reference, syncToken
// ("If only read-only fields such as calendar properties or ACLs have changed, the entry won't be
// returned"); acl and calendars references.
import type { calendar_v3 } from '@googleapis/calendar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { googleCalendar, SimulatorClient } from '../../simulator/client.js';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import { startWebhookListener, type WebhookListener } from '../../simulator/webhook-listener.js';
import { statusOf as status } from './helpers.js';

type Cal = calendar_v3.Calendar;

async function fullSync(cal: Cal, calendarId = 'primary'): Promise<string> {
  let pageToken: string | undefined;
  for (;;) {
    const { data } = await cal.events.list({ calendarId, pageToken });
    if (!data.nextPageToken) return data.nextSyncToken!;
    pageToken = data.nextPageToken;
  }
}

describe('sync tokens die on sharing changes and with age; calendar properties change', () => {
  let sim: Simulator;
  let ctl: SimulatorClient;
  let owner: Cal;
  let hook: WebhookListener;
  const a = 'acl-a@example.com';
  const b = 'acl-b@example.com';

  beforeEach(async () => {
    sim = await startSimulator({ seed: 8 });
    ctl = new SimulatorClient(sim.url);
    await ctl.createUser(a, 'rt-a');
    await ctl.createUser(b, 'rt-b');
    owner = googleCalendar(sim.url, 'rt-a').calendar;
    hook = await startWebhookListener();
  });
  afterEach(async () => {
    await sim.close();
    await hook.close();
  });

  async function watch(cal: Cal, id: string, calendarId = 'primary'): Promise<void> {
    await cal.events.watch({
      calendarId,
      requestBody: { id, type: 'web_hook', address: hook.url },
    });
    await sim.idle();
  }

  it('acl.insert / acl.delete share and unshare; watchers are notified; no events delta shows it', async () => {
    const token = await fullSync(owner);
    await watch(owner, 'acl-watch');
    const before = hook.received.length;
    const rule = await owner.acl.insert({
      calendarId: 'primary',
      requestBody: { role: 'reader', scope: { type: 'user', value: b } },
    });
    expect(rule.data).toMatchObject({
      kind: 'calendar#aclRule',
      id: `user:${b}`,
      role: 'reader',
      scope: { type: 'user', value: b },
    });
    const bCal = googleCalendar(sim.url, 'rt-b').calendar;
    const list = await bCal.calendarList.get({ calendarId: a });
    expect(list.data.accessRole).toBe('reader');
    await sim.idle();
    expect(hook.received.length).toBeGreaterThan(before);
    expect(hook.received.at(-1)!.headers['x-goog-resource-state']).toBe('exists');
    // Default: the token survives and the delta is empty (the change is not an event).
    const delta = await owner.events.list({ calendarId: 'primary', syncToken: token });
    expect(delta.data.items).toEqual([]);
    const rules = await owner.acl.list({ calendarId: 'primary' });
    expect(rules.data.items?.map((r) => r.id).sort()).toEqual([`user:${a}`, `user:${b}`]);
    await owner.acl.delete({ calendarId: 'primary', ruleId: `user:${b}` });
    expect(await status(bCal.events.list({ calendarId: a }))).toBe(404);
    // The owner's own rule cannot be removed.
    expect(await status(owner.acl.delete({ calendarId: 'primary', ruleId: `user:${a}` }))).toBe(
      403,
    );
  });

  it('with aclChangesInvalidateSyncTokens, sharing and unsharing (API or UI) make the calendar’s tokens 410', async () => {
    await ctl.setRealism({ aclChangesInvalidateSyncTokens: true });
    let token = await fullSync(owner);
    await owner.acl.insert({
      calendarId: 'primary',
      requestBody: { role: 'writer', scope: { type: 'user', value: b } },
    });
    expect(await status(owner.events.list({ calendarId: 'primary', syncToken: token }))).toBe(410);
    // The shared user's tokens die on unsharing, too (through the UI this time).
    const bCal = googleCalendar(sim.url, 'rt-b').calendar;
    const bToken = await fullSync(bCal, a);
    token = await fullSync(owner);
    await ctl.shareCalendar(a, b, 'reader');
    expect(await status(owner.events.list({ calendarId: 'primary', syncToken: token }))).toBe(410);
    expect(await status(bCal.events.list({ calendarId: a, syncToken: bToken }))).toBe(410);
    // Other calendars' tokens are untouched.
    const bOwn = await fullSync(bCal);
    await ctl.unshareCalendar(a, b);
    expect(await status(bCal.events.list({ calendarId: 'primary', syncToken: bOwn }))).toBe(200);
  });

  it('syncTokenLifetimeSeconds: events and calendarList tokens answer 410 once that old (simulated clock)', async () => {
    await ctl.setRealism({ syncTokenLifetimeSeconds: 3600 });
    // Access tokens live an hour too: this client refreshes on a 401.
    owner = googleCalendar(sim.url, 'rt-a', { forceRefreshOnFailure: true }).calendar;
    const token = await fullSync(owner);
    const listToken = (await owner.calendarList.list()).data.nextSyncToken!;
    await ctl.advanceClock(3590_000);
    const fresh = await owner.events.list({ calendarId: 'primary', syncToken: token });
    expect(fresh.status).toBe(200);
    await ctl.advanceClock(10_000);
    expect(await status(owner.events.list({ calendarId: 'primary', syncToken: token }))).toBe(410);
    expect(await status(owner.calendarList.list({ syncToken: listToken }))).toBe(410);
    // Each answer carries a fresh token with a full lifetime.
    expect(
      (await owner.events.list({ calendarId: 'primary', syncToken: fresh.data.nextSyncToken! }))
        .status,
    ).toBe(200);
  });

  it('calendars.patch / update change summary and time zone: watchers are notified, no delta shows it', async () => {
    const token = await fullSync(owner);
    const listToken = (await owner.calendarList.list()).data.nextSyncToken!;
    await watch(owner, 'props-watch');
    await owner.calendarList.watch({
      requestBody: { id: 'props-list-watch', type: 'web_hook', address: hook.url },
    });
    await sim.idle();
    const before = hook.received.length;
    const patched = await owner.calendars.patch({
      calendarId: 'primary',
      requestBody: { summary: 'Renamed', timeZone: 'Europe/Berlin' },
    });
    expect(patched.data).toMatchObject({ summary: 'Renamed', timeZone: 'Europe/Berlin' });
    await sim.idle();
    const states = hook.received.slice(before).map((n) => n.headers['x-goog-channel-id']);
    expect(states.sort()).toEqual(['props-list-watch', 'props-watch']);
    const delta = await owner.events.list({ calendarId: 'primary', syncToken: token });
    expect(delta.data.items).toEqual([]);
    expect(delta.data).toMatchObject({ summary: 'Renamed', timeZone: 'Europe/Berlin' });
    expect((await owner.calendarList.list({ syncToken: listToken })).data.items).toEqual([]);
    expect((await owner.calendars.get({ calendarId: 'primary' })).data.summary).toBe('Renamed');
    // update replaces: summary is required.
    expect(await status(owner.calendars.update({ calendarId: 'primary', requestBody: {} }))).toBe(
      400,
    );
    const updated = await owner.calendars.update({
      calendarId: 'primary',
      requestBody: { summary: 'Again', timeZone: 'Asia/Tokyo' },
    });
    expect(updated.data.timeZone).toBe('Asia/Tokyo');
  });
});
