// The live page's day arithmetic: where a day begins in a calendar's zone, across DST changes.
import { describe, expect, it } from 'vitest';
import { dayOf, daysFrom, nextDay, startOfDay } from '../../../web/page/zone.js';

describe('zone day arithmetic', () => {
  it('finds midnight in the zone, on ordinary days and on both DST changes', () => {
    expect(new Date(startOfDay('Europe/Berlin', '2026-12-01')).toISOString()).toBe(
      '2026-11-30T23:00:00.000Z',
    );
    expect(new Date(startOfDay('Europe/Berlin', '2026-07-01')).toISOString()).toBe(
      '2026-06-30T22:00:00.000Z',
    );
    // Berlin moves its clocks at 02:00/03:00, so the DST days still begin at an ordinary midnight.
    expect(new Date(startOfDay('Europe/Berlin', '2026-03-29')).toISOString()).toBe(
      '2026-03-28T23:00:00.000Z',
    );
    expect(new Date(startOfDay('Europe/Berlin', '2026-03-30')).toISOString()).toBe(
      '2026-03-29T22:00:00.000Z',
    );
    expect(new Date(startOfDay('America/New_York', '2026-11-01')).toISOString()).toBe(
      '2026-11-01T04:00:00.000Z',
    );
    expect(new Date(startOfDay('America/New_York', '2026-11-02')).toISOString()).toBe(
      '2026-11-02T05:00:00.000Z',
    );
    expect(new Date(startOfDay('UTC', '2026-01-01')).toISOString()).toBe(
      '2026-01-01T00:00:00.000Z',
    );
  });

  it('reads the day an instant falls on in the zone', () => {
    const ms = Date.parse('2026-12-01T23:30:00Z');
    expect(dayOf('UTC', ms)).toBe('2026-12-01');
    expect(dayOf('Europe/Berlin', ms)).toBe('2026-12-02');
    expect(dayOf('America/Los_Angeles', ms)).toBe('2026-12-01');
  });

  it('lists seven days from today, across a month end', () => {
    expect(daysFrom('Europe/Berlin', Date.parse('2026-11-27T23:30:00Z'), 7)).toEqual([
      '2026-11-28',
      '2026-11-29',
      '2026-11-30',
      '2026-12-01',
      '2026-12-02',
      '2026-12-03',
      '2026-12-04',
    ]);
    expect(nextDay('2026-12-31')).toBe('2027-01-01');
  });
});
