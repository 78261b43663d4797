// startAt/endAt: timed events, all-day events at midnight in the calendar's zone, DST edges.
import { describe, expect, it } from 'vitest';
import { eventTimes, instantOf, zonedTimeToUtc } from '../../../functions/time/event-times.js';

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** One Google start/end read in a calendar zone, and the instant it must be. */
const cases: [
  what: string,
  value: Parameters<typeof instantOf>[0],
  zone: string,
  expected: string,
][] = [
  [
    'a dateTime with its offset',
    { dateTime: '2025-03-24T07:30:00-05:00', timeZone: 'America/Chicago' },
    'UTC',
    '2025-03-24T12:30:00.000Z',
  ],
  [
    'a dateTime in Z',
    { dateTime: '2025-03-24T12:30:00Z' },
    'Asia/Tokyo',
    '2025-03-24T12:30:00.000Z',
  ],
  [
    'a dateTime without offset, in the event zone',
    { dateTime: '2025-07-01T09:00:00', timeZone: 'Europe/Berlin' },
    'UTC',
    '2025-07-01T07:00:00.000Z',
  ],
  [
    'a dateTime without offset or zone, in the calendar zone',
    { dateTime: '2025-01-01T09:00:00' },
    'Asia/Tokyo',
    '2025-01-01T00:00:00.000Z',
  ],
  [
    'an all-day date at midnight in the calendar zone (summer)',
    { date: '2025-03-24' },
    'America/Chicago',
    '2025-03-24T05:00:00.000Z',
  ],
  [
    'an all-day date at midnight in the calendar zone (winter)',
    { date: '2025-01-15' },
    'America/Chicago',
    '2025-01-15T06:00:00.000Z',
  ],
  [
    'an all-day date in a half-hour zone',
    { date: '2025-01-15' },
    'Asia/Kolkata',
    '2025-01-14T18:30:00.000Z',
  ],
  ['an all-day date in UTC', { date: '2025-01-15' }, 'UTC', '2025-01-15T00:00:00.000Z'],
  // US 2025: DST starts Sun 9 March 02:00, ends Sun 2 November 02:00 — midnight itself exists.
  ['the day US DST starts', { date: '2025-03-09' }, 'America/New_York', '2025-03-09T05:00:00.000Z'],
  [
    'the day after US DST starts',
    { date: '2025-03-10' },
    'America/New_York',
    '2025-03-10T04:00:00.000Z',
  ],
  ['the day US DST ends', { date: '2025-11-02' }, 'America/New_York', '2025-11-02T04:00:00.000Z'],
  [
    'the day after US DST ends',
    { date: '2025-11-03' },
    'America/New_York',
    '2025-11-03T05:00:00.000Z',
  ],
  // Europe: 30 March 2025 01:00 UTC.
  [
    'the day European DST starts',
    { date: '2025-03-30' },
    'Europe/London',
    '2025-03-30T00:00:00.000Z',
  ],
  [
    'the day after European DST starts',
    { date: '2025-03-31' },
    'Europe/London',
    '2025-03-30T23:00:00.000Z',
  ],
  // São Paulo, 4 Nov 2018: clocks jumped from 00:00 to 01:00 (-03 → -02): 01:00 -02.
  [
    'a midnight skipped by DST, as the first instant after the gap',
    { date: '2018-11-04' },
    'America/Sao_Paulo',
    '2018-11-04T03:00:00.000Z',
  ],
  [
    'a date in an unknown zone, as UTC',
    { date: '2025-01-15' },
    'Not/AZone',
    '2025-01-15T00:00:00.000Z',
  ],
];

describe('instantOf', () => {
  it.each(cases)('reads %s', (_what, value, zone, expected) => {
    expect(iso(instantOf(value, zone))).toBe(expected);
  });

  it('picks the first of two repeated wall times', () => {
    // New York 2025-11-02 01:30 happens twice: first at -04.
    expect(iso(zonedTimeToUtc('America/New_York', 2025, 11, 2, 1, 30))).toBe(
      '2025-11-02T05:30:00.000Z',
    );
  });

  it('is undefined for garbage', () => {
    expect(instantOf({ date: '15/01/2025' }, 'UTC')).toBeUndefined();
    expect(instantOf({ dateTime: 'nope' }, 'UTC')).toBeUndefined();
    expect(instantOf(undefined, 'UTC')).toBeUndefined();
    expect(instantOf({}, 'UTC')).toBeUndefined();
  });
});

describe('eventTimes', () => {
  it('keeps an all-day end exclusive', () => {
    const t = eventTimes(
      { start: { date: '2025-06-01' }, end: { date: '2025-06-02' } },
      'Europe/Paris',
    );
    expect(iso(t.startAt)).toBe('2025-05-31T22:00:00.000Z');
    expect(iso(t.endAt)).toBe('2025-06-01T22:00:00.000Z');
  });
  it('a 23-hour all-day event on a spring-forward day', () => {
    const t = eventTimes(
      { start: { date: '2025-03-30' }, end: { date: '2025-03-31' } },
      'Europe/Paris',
    );
    expect((t.endAt! - t.startAt!) / 3_600_000).toBe(23);
  });
});
