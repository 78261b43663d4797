// Conformance: recurring events — expansion (timeZone, DST, EXDATE, RDATE), exception ids,
// editing/cancelling one instance, "this and following", deleting a series, instances().
import type { calendar_v3 } from '@googleapis/calendar';
import { describe, expect, it } from 'vitest';
import { simulatorUserFixture } from '../../harness/fixtures.js';
import { listAll, statusOf as status } from './helpers.js';

type Ev = calendar_v3.Schema$Event;

describe('recurring events', () => {
  const google = simulatorUserFixture({
    simulator: { seed: 11 },
    user: { email: 'rec@example.com', refreshToken: 'rt-rec' },
  });

  const daily = (extra: Partial<Ev> = {}): Ev => ({
    summary: 'Dishes',
    start: { dateTime: '2025-03-24T07:30:00-05:00', timeZone: 'America/Chicago' },
    end: { dateTime: '2025-03-24T08:15:00-05:00', timeZone: 'America/Chicago' },
    recurrence: ['RRULE:FREQ=DAILY;COUNT=5'],
    ...extra,
  });

  it('a full list with timeMin keeps an open-ended series whose first 730 occurrences are before it (was a simulator bug)', async () => {
    // Google lists a series when any occurrence overlaps the window, however old its start
    // (events.list reference: timeMin/timeMax bound the events' times, not the master's start).
    const master = await google.insert(
      daily({
        summary: 'Since 2020',
        start: { dateTime: '2020-01-01T07:30:00-06:00', timeZone: 'America/Chicago' },
        end: { dateTime: '2020-01-01T08:15:00-06:00', timeZone: 'America/Chicago' },
        recurrence: ['RRULE:FREQ=DAILY'],
      }),
    );
    const window = { timeMin: '2025-06-01T00:00:00Z', timeMax: '2025-06-04T00:00:00Z' };
    const masters = await listAll(google.cal, { timeMin: window.timeMin });
    expect(masters.items.map((e) => e.id)).toEqual([master.id]);
    const instances = await listAll(google.cal, { ...window, singleEvents: true });
    expect(instances.items.map((e) => e.id).sort()).toEqual([
      `${master.id}_20250601T123000Z`,
      `${master.id}_20250602T123000Z`,
      `${master.id}_20250603T123000Z`,
    ]);
  });

  it('a recurring master without start.timeZone is rejected (400)', async () => {
    const body = daily({
      start: { dateTime: '2025-03-24T12:30:00Z' },
      end: { dateTime: '2025-03-24T13:15:00Z' },
    });
    expect(
      await status(google.cal.events.insert({ calendarId: 'primary', requestBody: body })),
    ).toBe(400);
    expect(
      await status(
        google.cal.events.insert({
          calendarId: 'primary',
          requestBody: daily({ recurrence: ['RRULE:FREQ=SOMETIMES'] }),
        }),
      ),
    ).toBe(400);
  });

  it('a dateTime without offset is wall-clock time in its timeZone; the answer carries the offset', async () => {
    const data = await google.insert({
      summary: 'local time',
      recurrence: ['RRULE:FREQ=WEEKLY;COUNT=2'],
      start: { dateTime: '2026-07-06T09:00:00', timeZone: 'Europe/Berlin' },
      end: { dateTime: '2026-07-06T09:30:00', timeZone: 'Europe/Berlin' },
    });
    expect(data.start).toEqual({
      dateTime: '2026-07-06T09:00:00+02:00',
      timeZone: 'Europe/Berlin',
    });
    const noZone = google.cal.events.insert({
      calendarId: 'primary',
      requestBody: {
        start: { dateTime: '2026-07-06T09:00:00' },
        end: { dateTime: '2026-07-06T10:00:00' },
      },
    });
    expect(await status(noZone)).toBe(400);
  });

  it('singleEvents=true expands with instance ids <masterId>_<YYYYMMDDTHHMMSSZ> and no master', async () => {
    const m = await google.insert(daily());
    const { items } = await listAll(google.cal, { singleEvents: true, orderBy: 'startTime' });
    expect(items.map((e) => e.id)).toEqual(
      [24, 25, 26, 27, 28].map((d) => `${m.id}_202503${d}T123000Z`),
    );
    for (const e of items) {
      expect(e.recurringEventId).toBe(m.id);
      expect(e.originalStartTime).toEqual(e.start);
      expect(e.recurrence).toBeUndefined();
      expect(e.iCalUID).toBe(m.iCalUID);
    }
  });

  it('keeps wall-clock time across a DST change in the series time zone', async () => {
    const m = await google.insert({
      start: { dateTime: '2025-03-07T09:00:00-05:00', timeZone: 'America/New_York' },
      end: { dateTime: '2025-03-07T10:00:00-05:00', timeZone: 'America/New_York' },
      recurrence: ['RRULE:FREQ=WEEKLY;COUNT=3'],
    });
    const { items } = await listAll(google.cal, { singleEvents: true, orderBy: 'startTime' });
    expect(items.map((e) => e.start!.dateTime)).toEqual([
      '2025-03-07T09:00:00-05:00',
      '2025-03-14T09:00:00-04:00', // US DST began 2025-03-09
      '2025-03-21T09:00:00-04:00',
    ]);
    expect(items[1]!.id).toBe(`${m.id}_20250314T130000Z`);
  });

  it('honours EXDATE and RDATE; all-day series get _<YYYYMMDD> ids', async () => {
    await google.insert(
      daily({
        recurrence: [
          'RRULE:FREQ=DAILY;COUNT=5',
          'EXDATE;TZID=America/Chicago:20250325T073000',
          'EXDATE:20250327T123000Z',
          'RDATE;TZID=America/Chicago:20250401T073000',
        ],
      }),
    );
    const allDay = await google.insert({
      summary: 'Bins',
      start: { date: '2025-03-03' },
      end: { date: '2025-03-04' },
      recurrence: ['RRULE:FREQ=WEEKLY;COUNT=2'],
    });
    const { items } = await listAll(google.cal, { singleEvents: true, orderBy: 'startTime' });
    const starts = items.map((e) => e.start!.dateTime ?? e.start!.date);
    expect(starts).toEqual([
      '2025-03-03',
      '2025-03-10',
      '2025-03-24T07:30:00-05:00',
      '2025-03-26T07:30:00-05:00',
      '2025-03-28T07:30:00-05:00',
      '2025-04-01T07:30:00-05:00',
    ]);
    expect(items[0]!.id).toBe(`${allDay.id}_20250303`);
    expect(items[0]!.originalStartTime).toEqual({ date: '2025-03-03' });
  });

  it('editing one instance creates an exception that replaces it; the delta re-sends the master', async () => {
    const m = await google.insert(daily());
    const full = await listAll(google.cal, {});
    const id = `${m.id}_20250326T123000Z`;
    const ex = await google.patch(id, {
      summary: 'moved',
      start: { dateTime: '2025-03-26T20:45:00-05:00', timeZone: 'America/Chicago' },
      end: { dateTime: '2025-03-26T21:30:00-05:00', timeZone: 'America/Chicago' },
    });
    expect(ex.id).toBe(id);
    expect(ex.recurringEventId).toBe(m.id);
    expect(ex.originalStartTime).toEqual({
      dateTime: '2025-03-26T07:30:00-05:00',
      timeZone: 'America/Chicago',
    });
    const delta = await listAll(google.cal, { syncToken: full.syncToken });
    expect(delta.items.map((e) => e.id).sort()).toEqual([m.id, id].sort());
    const inst = await listAll(google.cal, { singleEvents: true, orderBy: 'startTime' });
    expect(inst.items.length).toBe(5);
    expect(inst.items.find((e) => e.id === id)!.summary).toBe('moved');
  });

  it('cancelling one instance: cancelled exception with recurringEventId + originalStartTime, kept in full lists', async () => {
    const m = await google.insert(daily());
    const full = await listAll(google.cal, {});
    const id = `${m.id}_20250325T123000Z`;
    await google.cal.events.delete({ calendarId: 'primary', eventId: id });
    const delta = await listAll(google.cal, { syncToken: full.syncToken });
    const cancelled = delta.items.find((e) => e.id === id);
    expect(cancelled).toEqual({
      kind: 'calendar#event',
      etag: expect.stringMatching(/^"\d+"$/),
      id,
      status: 'cancelled',
      recurringEventId: m.id,
      originalStartTime: { dateTime: '2025-03-25T07:30:00-05:00', timeZone: 'America/Chicago' },
    });
    // Full list, singleEvents=false, showDeleted=false: the series' cancelled exception is listed.
    const again = await listAll(google.cal, {});
    expect(again.items.map((e) => e.id).sort()).toEqual([m.id, id].sort());
    // singleEvents=true: the occurrence is gone.
    const inst = await listAll(google.cal, { singleEvents: true });
    expect(inst.items.map((e) => e.id)).not.toContain(id);
    expect(inst.items.length).toBe(4);
  });

  it('deleting the master cancels the series; the delta may announce only the master', async () => {
    const m = await google.insert(daily());
    await google.patch(`${m.id}_20250326T123000Z`, { summary: 'x' });
    const full = await listAll(google.cal, {});
    expect(full.items.length).toBe(2);
    await google.cal.events.delete({ calendarId: 'primary', eventId: m.id! });
    const delta = await listAll(google.cal, { syncToken: full.syncToken });
    expect(delta.items).toEqual([
      { kind: 'calendar#event', etag: expect.any(String), id: m.id, status: 'cancelled' },
    ]);
    expect((await listAll(google.cal, {})).items).toEqual([]);
    expect((await listAll(google.cal, { singleEvents: true })).items).toEqual([]);
  });

  it('"this and following": UNTIL on the master + a new series; later exceptions come back id-only', async () => {
    const m = await google.insert(daily({ recurrence: ['RRULE:FREQ=DAILY'] }));
    const early = `${m.id}_20250325T123000Z`;
    const late = `${m.id}_20250328T123000Z`;
    await google.patch(early, { summary: 'early edit' });
    await google.patch(late, { summary: 'late edit' });
    const full = await listAll(google.cal, {});
    // Split at 2025-03-27 (compass recurring__edit__this-and-following-1).
    await google.patch(m.id!, { recurrence: ['RRULE:FREQ=DAILY;UNTIL=20250327T045959Z'] });
    const next = await google.insert(
      daily({
        summary: 'Dishes v2',
        start: { dateTime: '2025-03-27T07:30:00-05:00', timeZone: 'America/Chicago' },
        end: { dateTime: '2025-03-27T08:15:00-05:00', timeZone: 'America/Chicago' },
        recurrence: ['RRULE:FREQ=DAILY'],
      }),
    );
    const delta = await listAll(google.cal, { syncToken: full.syncToken });
    const byId = new Map(delta.items.map((e) => [e.id, e]));
    expect(byId.get(m.id)!.recurrence).toEqual(['RRULE:FREQ=DAILY;UNTIL=20250327T045959Z']);
    expect(byId.get(next.id)!.status).toBe('confirmed');
    expect(byId.get(early)!.summary).toBe('early edit');
    // The exception after UNTIL is gone: id-only, without recurringEventId.
    expect(byId.get(late)).toEqual({
      kind: 'calendar#event',
      etag: expect.any(String),
      id: late,
      status: 'cancelled',
    });
    const inst = await listAll(google.cal, {
      singleEvents: true,
      timeMax: '2025-03-30T00:00:00Z',
      orderBy: 'startTime',
    });
    expect(inst.items.map((e) => e.summary)).toEqual([
      'Dishes',
      'early edit',
      'Dishes',
      'Dishes v2',
      'Dishes v2',
      'Dishes v2',
    ]);
  });

  it('singleEvents=true incremental: a changed master re-sends its instances', async () => {
    const m = await google.insert(daily());
    const full = await listAll(google.cal, { singleEvents: true });
    expect(full.items.length).toBe(5);
    await google.patch(m.id!, { summary: 'renamed' });
    const delta = await listAll(google.cal, { singleEvents: true, syncToken: full.syncToken });
    expect(delta.items.length).toBe(5);
    expect(delta.items.every((e) => e.summary === 'renamed')).toBe(true);
  });

  it('instances() lists a series’ occurrences with paging; get() reads an unmodified instance', async () => {
    const m = await google.insert(daily());
    const seen: string[] = [];
    let pageToken: string | undefined;
    do {
      const { data } = await google.cal.events.instances({
        calendarId: 'primary',
        eventId: m.id!,
        maxResults: 2,
        pageToken,
      });
      seen.push(...(data.items ?? []).map((e) => e.id!));
      expect(data.nextSyncToken).toBeUndefined();
      pageToken = data.nextPageToken ?? undefined;
    } while (pageToken);
    expect(seen).toHaveLength(5);
    const one = (await google.cal.events.get({ calendarId: 'primary', eventId: seen[2]! })).data;
    expect(one.recurringEventId).toBe(m.id);
    expect(
      await status(
        google.cal.events.get({ calendarId: 'primary', eventId: `${m.id}_20250324T123100Z` }),
      ),
    ).toBe(404);
  });
});
