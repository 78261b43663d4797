// Occurrence expansion against hand-checked calendars: EXDATE, BYDAY=2TU, all-day, DST, splits, moves, tombstones, RDATE.
import { describe, expect, it } from 'vitest';
import type { GoogleEvent } from '../../../functions/calendar/api.js';
import {
  expandSeries,
  expandSingle,
  occurrencesOf,
} from '../../../functions/occurrences/expand.js';
import { occurrenceWindow, type OccurrenceWindow } from '../../../functions/occurrences/model.js';

const WIDE: OccurrenceWindow = { start: Date.UTC(2000, 0, 1), end: Date.UTC(2100, 0, 1) };
const iso = (ms: number) => new Date(ms).toISOString();

function master(id: string, fields: Partial<GoogleEvent>): GoogleEvent {
  return {
    id,
    status: 'confirmed',
    etag: '"1"',
    updated: '2026-01-01T00:00:00.000Z',
    summary: 'Series',
    ...fields,
  };
}

function timed(local: string, timeZone: string) {
  return { dateTime: local, timeZone };
}

describe('expandSeries', () => {
  it('weekly with EXDATE: the excluded Monday is absent, ids carry the UTC start', () => {
    const m = master('wk', {
      start: timed('2026-01-05T10:00:00', 'America/New_York'),
      end: timed('2026-01-05T11:00:00', 'America/New_York'),
      recurrence: [
        'RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=5',
        'EXDATE;TZID=America/New_York:20260119T100000',
      ],
    });
    const occ = expandSeries(m, [], WIDE);
    expect(occ.map((o) => o.occurrenceId)).toEqual([
      'wk_20260105T150000Z',
      'wk_20260112T150000Z',
      'wk_20260126T150000Z',
      'wk_20260202T150000Z',
    ]);
    expect(occ[0]).toMatchObject({
      eventId: 'wk',
      recurringEventId: 'wk',
      sourceEventId: 'wk',
      allDay: false,
      timeZone: 'America/New_York',
      summary: 'Series',
      status: 'confirmed',
    });
    expect(occ.map((o) => o.endAt - o.startAt)).toEqual([3.6e6, 3.6e6, 3.6e6, 3.6e6]);
  });

  it('monthly on the second Tuesday, crossing the EU DST start (wall clock kept)', () => {
    const m = master('mo', {
      start: timed('2026-01-13T09:00:00', 'Europe/Berlin'),
      end: timed('2026-01-13T09:30:00', 'Europe/Berlin'),
      recurrence: ['RRULE:FREQ=MONTHLY;BYDAY=2TU;COUNT=4'],
    });
    expect(expandSeries(m, [], WIDE).map((o) => iso(o.startAt))).toEqual([
      '2026-01-13T08:00:00.000Z',
      '2026-02-10T08:00:00.000Z',
      '2026-03-10T08:00:00.000Z',
      '2026-04-14T07:00:00.000Z', // CEST since 29 March: still 09:00 in Berlin
    ]);
  });

  it('all-day series: date-only, end exclusive, midnight in the calendar zone, ids YYYYMMDD', () => {
    const m = master('ad', {
      start: { date: '2026-06-01' },
      end: { date: '2026-06-03' }, // two days long
      recurrence: ['RRULE:FREQ=WEEKLY;COUNT=3'],
    });
    const occ = expandSeries(m, [], WIDE, { calendarTimeZone: 'America/Los_Angeles' });
    expect(occ.map((o) => [o.occurrenceId, o.startDate, o.endDate])).toEqual([
      ['ad_20260601', '2026-06-01', '2026-06-03'],
      ['ad_20260608', '2026-06-08', '2026-06-10'],
      ['ad_20260615', '2026-06-15', '2026-06-17'],
    ]);
    expect(iso(occ[0]!.startAt)).toBe('2026-06-01T07:00:00.000Z');
    expect(iso(occ[0]!.endAt)).toBe('2026-06-03T07:00:00.000Z');
    expect(occ.every((o) => o.allDay && o.timeZone === null)).toBe(true);
  });

  it('all-day yearly rule with RDATE and EXDATE (VALUE=DATE), COUNT counting the excluded one', () => {
    // Second Saturday and last Sunday of June; 10 June 2006 is the second Saturday.
    const m = master('yr', {
      start: { date: '2006-06-10' },
      end: { date: '2006-06-11' },
      recurrence: [
        'RRULE:FREQ=YEARLY;COUNT=5;BYDAY=-1SU,2SA;BYMONTH=6',
        'RDATE;VALUE=DATE:20060812',
        'EXDATE;VALUE=DATE:20070609',
      ],
    });
    expect(expandSeries(m, [], WIDE, { calendarTimeZone: 'UTC' }).map((o) => o.startDate)).toEqual([
      '2006-06-10',
      '2006-06-25',
      '2006-08-12',
      '2007-06-24',
      '2008-06-14',
    ]);
  });

  it('timed RDATE with its own TZID and in UTC', () => {
    const m = master('rd', {
      start: timed('2026-05-04T14:00:00', 'Europe/Berlin'),
      end: timed('2026-05-04T15:00:00', 'Europe/Berlin'),
      recurrence: [
        'RRULE:FREQ=DAILY;COUNT=1',
        'RDATE;TZID=America/New_York:20260510T080000',
        'RDATE:20260520T120000Z',
      ],
    });
    expect(expandSeries(m, [], WIDE).map((o) => o.occurrenceId)).toEqual([
      'rd_20260504T120000Z',
      'rd_20260510T120000Z',
      'rd_20260520T120000Z',
    ]);
  });

  it('America/New_York DST end: 09:00 stays 09:00 (13:00Z → 14:00Z)', () => {
    const m = master('ny', {
      start: timed('2026-10-23T09:00:00', 'America/New_York'),
      end: timed('2026-10-23T10:00:00', 'America/New_York'),
      recurrence: ['RRULE:FREQ=WEEKLY;COUNT=3'],
    });
    expect(expandSeries(m, [], WIDE).map((o) => o.occurrenceId)).toEqual([
      'ny_20261023T130000Z',
      'ny_20261030T130000Z',
      'ny_20261106T140000Z',
    ]);
  });

  it('America/New_York DST start and a UTC UNTIL compared in wall-clock time', () => {
    const m = master('ny2', {
      start: timed('2026-03-06T18:00:00-05:00', 'America/New_York'),
      end: timed('2026-03-06T19:00:00-05:00', 'America/New_York'),
      // 2026-03-13 22:00Z = 18:00 EDT on the 13th: inclusive.
      recurrence: ['RRULE:FREQ=WEEKLY;UNTIL=20260313T220000Z'],
    });
    expect(expandSeries(m, [], WIDE).map((o) => iso(o.startAt))).toEqual([
      '2026-03-06T23:00:00.000Z',
      '2026-03-13T22:00:00.000Z',
    ]);
  });

  it('Europe/Berlin DST start: daily 08:30, and 02:30 (inside the gap) read with the offset before it', () => {
    const m = master('be', {
      start: timed('2026-03-28T08:30:00', 'Europe/Berlin'),
      end: timed('2026-03-28T09:00:00', 'Europe/Berlin'),
      recurrence: ['RRULE:FREQ=DAILY;COUNT=3'],
    });
    expect(expandSeries(m, [], WIDE).map((o) => iso(o.startAt))).toEqual([
      '2026-03-28T07:30:00.000Z',
      '2026-03-29T06:30:00.000Z',
      '2026-03-30T06:30:00.000Z',
    ]);
    const gap = master('gap', {
      start: timed('2026-03-28T02:30:00', 'Europe/Berlin'),
      end: timed('2026-03-28T03:00:00', 'Europe/Berlin'),
      recurrence: ['RRULE:FREQ=DAILY;COUNT=3'],
    });
    expect(expandSeries(gap, [], WIDE).map((o) => iso(o.startAt))).toEqual([
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:30:00.000Z', // 02:30 does not exist: 03:30 CEST
      '2026-03-30T00:30:00.000Z',
    ]);
  });

  it('a modified instance replaces its instance, keeping the id, even moved to another day', () => {
    const m = master('mv', {
      start: timed('2025-03-24T07:30:00-05:00', 'America/Chicago'),
      end: timed('2025-03-24T08:15:00-05:00', 'America/Chicago'),
      recurrence: ['RRULE:FREQ=DAILY;COUNT=5'],
    });
    const moved: GoogleEvent = {
      id: 'mv_20250326T123000Z',
      status: 'confirmed',
      summary: 'Moved to the evening of the next day',
      updated: '2026-01-02T00:00:00.000Z',
      recurringEventId: 'mv',
      originalStartTime: timed('2025-03-26T07:30:00-05:00', 'America/Chicago'),
      start: timed('2025-03-27T20:45:00-05:00', 'America/Chicago'),
      end: timed('2025-03-27T21:30:00-05:00', 'America/Chicago'),
    };
    const occ = expandSeries(m, [moved], WIDE);
    expect(occ.map((o) => [o.occurrenceId, iso(o.startAt)])).toEqual([
      ['mv_20250324T123000Z', '2025-03-24T12:30:00.000Z'],
      ['mv_20250325T123000Z', '2025-03-25T12:30:00.000Z'],
      ['mv_20250327T123000Z', '2025-03-27T12:30:00.000Z'],
      ['mv_20250326T123000Z', '2025-03-28T01:45:00.000Z'],
      ['mv_20250328T123000Z', '2025-03-28T12:30:00.000Z'],
    ]);
    const m26 = occ.find((o) => o.occurrenceId === 'mv_20250326T123000Z')!;
    expect(m26).toMatchObject({
      sourceEventId: 'mv_20250326T123000Z',
      summary: 'Moved to the evening of the next day',
      updated: '2026-01-02T00:00:00.000Z',
      originalStartAt: Date.UTC(2025, 2, 26, 12, 30),
    });
  });

  it('an instance moved into the window from far outside it is shown; moved out, it is gone', () => {
    const m = master('far', {
      start: timed('2026-01-05T10:00:00', 'UTC'),
      end: timed('2026-01-05T11:00:00', 'UTC'),
      recurrence: ['RRULE:FREQ=WEEKLY;COUNT=10'],
    });
    const window = { start: Date.UTC(2026, 2, 1), end: Date.UTC(2026, 3, 1) };
    const movedIn: GoogleEvent = {
      id: 'far_20260105T100000Z',
      recurringEventId: 'far',
      status: 'confirmed',
      originalStartTime: timed('2026-01-05T10:00:00', 'UTC'),
      start: timed('2026-03-20T10:00:00', 'UTC'),
      end: timed('2026-03-20T11:00:00', 'UTC'),
    };
    const movedOut: GoogleEvent = {
      id: 'far_20260302T100000Z',
      recurringEventId: 'far',
      status: 'confirmed',
      originalStartTime: timed('2026-03-02T10:00:00', 'UTC'),
      start: timed('2026-06-01T10:00:00', 'UTC'),
      end: timed('2026-06-01T11:00:00', 'UTC'),
    };
    expect(expandSeries(m, [movedIn, movedOut], window).map((o) => o.occurrenceId)).toEqual([
      'far_20260309T100000Z',
      'far_20260105T100000Z',
    ]);
  });

  it('a cancelled instance (tombstone) is absent; a cancelled master shows nothing', () => {
    const m = master('cx', {
      start: timed('2026-02-02T09:00:00', 'Europe/Berlin'),
      end: timed('2026-02-02T10:00:00', 'Europe/Berlin'),
      recurrence: ['RRULE:FREQ=DAILY;COUNT=3'],
    });
    const tombstone: GoogleEvent = {
      id: 'cx_20260203T080000Z',
      status: 'cancelled',
      recurringEventId: 'cx',
      originalStartTime: timed('2026-02-03T09:00:00+01:00', 'Europe/Berlin'),
    };
    expect(expandSeries(m, [tombstone], WIDE).map((o) => o.occurrenceId)).toEqual([
      'cx_20260202T080000Z',
      'cx_20260204T080000Z',
    ]);
    expect(expandSeries({ ...m, status: 'cancelled' }, [], WIDE)).toEqual([]);
  });

  it('a series split "this and following": old master with UNTIL plus the new series', () => {
    const old = master('sp', {
      start: timed('2026-01-05T10:00:00', 'America/New_York'),
      end: timed('2026-01-05T11:00:00', 'America/New_York'),
      recurrence: ['RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20260125T045959Z'],
    });
    const following = master('sp_R20260126T150000', {
      summary: 'Series, later part',
      start: timed('2026-01-26T11:00:00', 'America/New_York'),
      end: timed('2026-01-26T12:00:00', 'America/New_York'),
      recurrence: ['RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=3'],
    });
    const all = [...occurrencesOf(old, [], WIDE), ...occurrencesOf(following, [], WIDE)];
    expect(all.map((o) => [o.occurrenceId, iso(o.startAt), o.summary])).toEqual([
      ['sp_20260105T150000Z', '2026-01-05T15:00:00.000Z', 'Series'],
      ['sp_20260112T150000Z', '2026-01-12T15:00:00.000Z', 'Series'],
      ['sp_20260119T150000Z', '2026-01-19T15:00:00.000Z', 'Series'],
      ['sp_R20260126T150000_20260126T160000Z', '2026-01-26T16:00:00.000Z', 'Series, later part'],
      ['sp_R20260126T150000_20260202T160000Z', '2026-02-02T16:00:00.000Z', 'Series, later part'],
      ['sp_R20260126T150000_20260209T160000Z', '2026-02-09T16:00:00.000Z', 'Series, later part'],
    ]);
  });

  it('keeps only occurrences overlapping the window; an open-ended rule stops at its end', () => {
    const m = master('open', {
      start: timed('2020-01-01T23:00:00', 'UTC'),
      end: timed('2020-01-02T01:00:00', 'UTC'),
      recurrence: ['RRULE:FREQ=DAILY'],
    });
    const window = { start: Date.UTC(2026, 0, 10), end: Date.UTC(2026, 0, 13) };
    // The 9th's instance runs past midnight into the window.
    expect(expandSeries(m, [], window).map((o) => o.occurrenceId)).toEqual([
      'open_20260109T230000Z',
      'open_20260110T230000Z',
      'open_20260111T230000Z',
      'open_20260112T230000Z',
    ]);
  });

  it('exceptions without a stored master (invited to one instance) are shown alone', () => {
    const only: GoogleEvent = {
      id: 'theirs_20260310T090000Z',
      status: 'confirmed',
      recurringEventId: 'theirs',
      originalStartTime: { dateTime: '2026-03-10T09:00:00Z' },
      start: { dateTime: '2026-03-10T09:00:00Z' },
      end: { dateTime: '2026-03-10T10:00:00Z' },
      attendees: [
        { email: 'a@example.com', responseStatus: 'accepted' },
        { email: 'me@example.com', self: true, responseStatus: 'tentative' },
        { email: 'b@example.com', responseStatus: 'declined' },
        { email: 'c@example.com' },
      ],
    };
    expect(occurrencesOf(undefined, [only], WIDE)).toEqual([
      expect.objectContaining({
        occurrenceId: 'theirs_20260310T090000Z',
        eventId: 'theirs',
        attendees: { accepted: 1, declined: 1, tentative: 1, needsAction: 1 },
        selfResponse: 'tentative',
      }),
    ]);
  });

  it('an exception keyed by an all-day originalStartTime that differs from its id', () => {
    const m = master('ak', {
      start: { date: '2006-06-10' },
      end: { date: '2006-06-11' },
      recurrence: ['RRULE:FREQ=WEEKLY;COUNT=3'],
    });
    const moved: GoogleEvent = {
      id: 'ak_20060618',
      status: 'confirmed',
      recurringEventId: 'ak',
      originalStartTime: { date: '2006-06-17' },
      start: { date: '2006-06-18' },
      end: { date: '2006-06-19' },
    };
    expect(
      expandSeries(m, [moved], WIDE).map((o) => [o.occurrenceId, o.startDate, o.sourceEventId]),
    ).toEqual([
      ['ak_20060610', '2006-06-10', 'ak'],
      ['ak_20060617', '2006-06-18', 'ak_20060618'],
      ['ak_20060624', '2006-06-24', 'ak'],
    ]);
  });
});

describe('expandSingle / occurrencesOf', () => {
  const single: GoogleEvent = {
    id: 'one',
    status: 'confirmed',
    summary: 'Dentist',
    location: 'Main St',
    htmlLink: 'https://www.google.com/calendar/event?eid=x',
    updated: '2026-01-01T00:00:00.000Z',
    start: { dateTime: '2026-04-01T10:00:00+02:00' },
    end: { dateTime: '2026-04-01T11:00:00+02:00' },
  };

  it('a single event is one occurrence whose id is the event id (stable when it moves)', () => {
    expect(occurrencesOf(single, [], WIDE)).toEqual([
      {
        occurrenceId: 'one',
        eventId: 'one',
        recurringEventId: null,
        sourceEventId: 'one',
        originalStartAt: null,
        startAt: Date.UTC(2026, 3, 1, 8),
        endAt: Date.UTC(2026, 3, 1, 9),
        allDay: false,
        startDate: null,
        endDate: null,
        timeZone: null,
        summary: 'Dentist',
        location: 'Main St',
        status: 'confirmed',
        attendees: null,
        selfResponse: null,
        updated: '2026-01-01T00:00:00.000Z',
        htmlLink: 'https://www.google.com/calendar/event?eid=x',
      },
    ]);
  });

  it('a cancelled single is no occurrence; neither is one outside the window', () => {
    expect(expandSingle({ ...single, status: 'cancelled' }, WIDE)).toEqual([]);
    expect(
      expandSingle(single, { start: Date.UTC(2026, 4, 1), end: Date.UTC(2026, 5, 1) }),
    ).toEqual([]);
  });
});

describe('occurrenceWindow', () => {
  it('spans whole UTC days: 30 back, 365 ahead by default, including today', () => {
    const w = occurrenceWindow(Date.UTC(2026, 5, 15, 13, 7), { daysBack: 30, daysAhead: 365 });
    expect(iso(w.start)).toBe('2026-05-16T00:00:00.000Z');
    expect(iso(w.end)).toBe('2027-06-16T00:00:00.000Z');
  });
});
