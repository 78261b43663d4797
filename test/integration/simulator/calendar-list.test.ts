// Conformance: calendarList.list with sync tokens (added, unshared and deleted calendars), calendars.get.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { googleCalendar, SimulatorClient } from '../../simulator/client.js';
import { startSimulator, type Simulator } from '../../simulator/index.js';

describe('calendarList', () => {
  let sim: Simulator;
  let ctl: SimulatorClient;

  beforeEach(async () => {
    sim = await startSimulator();
    ctl = new SimulatorClient(sim.url);
    await ctl.createUser('l@example.com', 'rt-l', { timeZone: 'Europe/Berlin' });
    await ctl.createUser('m@example.com', 'rt-m');
  });
  afterEach(() => sim.close());

  it('lists the primary calendar and secondaries; incremental sync shows additions and removals', async () => {
    const { calendar } = googleCalendar(sim.url, 'rt-l');
    const full = (await calendar.calendarList.list()).data;
    expect(full.nextSyncToken).toBeTruthy();
    expect(full.nextPageToken).toBeUndefined();
    expect(full.items).toHaveLength(1);
    expect(full.items![0]).toMatchObject({
      id: 'l@example.com',
      primary: true,
      accessRole: 'owner',
      timeZone: 'Europe/Berlin',
    });

    const team = await ctl.createCalendar('m@example.com', { summary: 'team' });
    await ctl.shareCalendar(team, 'l@example.com', 'reader');
    const own = await ctl.createCalendar('l@example.com', { summary: 'own' });
    const d1 = (await calendar.calendarList.list({ syncToken: full.nextSyncToken! })).data;
    expect(d1.items!.map((e) => e.id).sort()).toEqual([own, team].sort());
    expect(d1.items!.find((e) => e.id === team)!.accessRole).toBe('reader');

    await ctl.unshareCalendar(team, 'l@example.com');
    await ctl.deleteCalendar(own);
    const d2 = (await calendar.calendarList.list({ syncToken: d1.nextSyncToken! })).data;
    expect(
      d2
        .items!.map((e) => ({ id: e.id, deleted: e.deleted }))
        .sort((a, b) => a.id!.localeCompare(b.id!)),
    ).toEqual(
      [
        { id: own, deleted: true },
        { id: team, deleted: true },
      ].sort((a, b) => a.id.localeCompare(b.id)),
    );
    expect((await calendar.calendarList.list()).data.items!.map((e) => e.id)).toEqual([
      'l@example.com',
    ]);
  });

  it('pages with maxResults; expired tokens answer 410; minAccessRole with a sync token is 400', async () => {
    for (let i = 0; i < 5; i++) await ctl.createCalendar('l@example.com', { summary: `c${i}` });
    const { calendar } = googleCalendar(sim.url, 'rt-l');
    const ids: string[] = [];
    let pageToken: string | undefined;
    let syncToken: string | undefined;
    do {
      const { data } = await calendar.calendarList.list({ maxResults: 2, pageToken });
      expect(Boolean(data.nextPageToken) !== Boolean(data.nextSyncToken)).toBe(true);
      ids.push(...data.items!.map((e) => e.id!));
      pageToken = data.nextPageToken ?? undefined;
      syncToken = data.nextSyncToken ?? undefined;
    } while (pageToken);
    expect(new Set(ids).size).toBe(6);
    await expect(
      calendar.calendarList.list({ syncToken, minAccessRole: 'owner' }),
    ).rejects.toMatchObject({ status: 400 });
    await ctl.expireCalendarListSyncTokens('l@example.com');
    await expect(calendar.calendarList.list({ syncToken })).rejects.toMatchObject({ status: 410 });
  });

  it('calendars.get resolves primary to the user’s own calendar', async () => {
    const { calendar } = googleCalendar(sim.url, 'rt-l');
    const { data } = await calendar.calendars.get({ calendarId: 'primary' });
    expect(data).toMatchObject({
      kind: 'calendar#calendar',
      id: 'l@example.com',
      timeZone: 'Europe/Berlin',
    });
    await expect(calendar.calendars.get({ calendarId: 'm@example.com' })).rejects.toMatchObject({
      status: 404,
    });
  });
});
