// startAt/endAt: timed events, all-day events at midnight in the calendar's zone, DST edges.
import { describe, expect, it } from 'vitest';
import { eventTimes, instantOf, zonedTimeToUtc } from '../../../functions/time/event-times.js';

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('instantOf', () => {
  it('reads a dateTime with its offset', () => {
    expect(
      iso(instantOf({ dateTime: '2025-03-24T07:30:00-05:00', timeZone: 'America/Chicago' }, 'UTC')),
    ).toBe('2025-03-24T12:30:00.000Z');
    expect(iso(instantOf({ dateTime: '2025-03-24T12:30:00Z' }, 'Asia/Tokyo'))).toBe(
      '2025-03-24T12:30:00.000Z',
    );
  });

  it('reads a dateTime without offset in the event zone, else the calendar zone', () => {
    expect(
      iso(instantOf({ dateTime: '2025-07-01T09:00:00', timeZone: 'Europe/Berlin' }, 'UTC')),
    ).toBe('2025-07-01T07:00:00.000Z');
    expect(iso(instantOf({ dateTime: '2025-01-01T09:00:00' }, 'Asia/Tokyo'))).toBe(
      '2025-01-01T00:00:00.000Z',
    );
  });

  it('puts an all-day date at midnight in the calendar zone', () => {
    expect(iso(instantOf({ date: '2025-03-24' }, 'America/Chicago'))).toBe(
      '2025-03-24T05:00:00.000Z',
    );
    expect(iso(instantOf({ date: '2025-01-15' }, 'America/Chicago'))).toBe(
      '2025-01-15T06:00:00.000Z',
    );
    expect(iso(instantOf({ date: '2025-01-15' }, 'Asia/Kolkata'))).toBe('2025-01-14T18:30:00.000Z');
    expect(iso(instantOf({ date: '2025-01-15' }, 'UTC'))).toBe('2025-01-15T00:00:00.000Z');
  });

  it('handles the days DST starts and ends', () => {
    // US 2025: DST starts Sun 9 March 02:00, ends Sun 2 November 02:00 — midnight itself exists.
    expect(iso(instantOf({ date: '2025-03-09' }, 'America/New_York'))).toBe(
      '2025-03-09T05:00:00.000Z',
    );
    expect(iso(instantOf({ date: '2025-03-10' }, 'America/New_York'))).toBe(
      '2025-03-10T04:00:00.000Z',
    );
    expect(iso(instantOf({ date: '2025-11-02' }, 'America/New_York'))).toBe(
      '2025-11-02T04:00:00.000Z',
    );
    expect(iso(instantOf({ date: '2025-11-03' }, 'America/New_York'))).toBe(
      '2025-11-03T05:00:00.000Z',
    );
    // Europe: 30 March 2025 01:00 UTC.
    expect(iso(instantOf({ date: '2025-03-30' }, 'Europe/London'))).toBe(
      '2025-03-30T00:00:00.000Z',
    );
    expect(iso(instantOf({ date: '2025-03-31' }, 'Europe/London'))).toBe(
      '2025-03-30T23:00:00.000Z',
    );
  });

  it('maps a midnight skipped by DST to the first instant after the gap', () => {
    // São Paulo, 4 Nov 2018: clocks jumped from 00:00 to 01:00 (-03 → -02).
    expect(iso(instantOf({ date: '2018-11-04' }, 'America/Sao_Paulo'))).toBe(
      '2018-11-04T03:00:00.000Z',
    ); // 01:00 -02;
  });

  it('picks the first of two repeated wall times', () => {
    // New York 2025-11-02 01:30 happens twice: first at -04.
    expect(iso(zonedTimeToUtc('America/New_York', 2025, 11, 2, 1, 30))).toBe(
      '2025-11-02T05:30:00.000Z',
    );
  });

  it('falls back to UTC for an unknown zone, and to undefined for garbage', () => {
    expect(iso(instantOf({ date: '2025-01-15' }, 'Not/AZone'))).toBe('2025-01-15T00:00:00.000Z');
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
