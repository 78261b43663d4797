// The live page's day arithmetic: where a day begins in a calendar's zone, across DST changes.
import { describe, expect, it } from 'vitest';
import { dayOf, daysFrom, nextDay, startOfDay } from '../../../web/page/zone.js';

describe('zone day arithmetic', () => {
  // Berlin moves its clocks at 02:00/03:00, so the DST days still begin at an ordinary midnight.
  it.each([
    ['Europe/Berlin', '2026-12-01', '2026-11-30T23:00:00.000Z'],
    ['Europe/Berlin', '2026-07-01', '2026-06-30T22:00:00.000Z'],
    ['Europe/Berlin', '2026-03-29', '2026-03-28T23:00:00.000Z'],
    ['Europe/Berlin', '2026-03-30', '2026-03-29T22:00:00.000Z'],
    ['America/New_York', '2026-11-01', '2026-11-01T04:00:00.000Z'],
    ['America/New_York', '2026-11-02', '2026-11-02T05:00:00.000Z'],
    ['UTC', '2026-01-01', '2026-01-01T00:00:00.000Z'],
    // São Paulo, 4 Nov 2018: midnight did not exist (00:00 → 01:00); the day began at 01:00 -02.
    ['America/Sao_Paulo', '2018-11-04', '2018-11-04T03:00:00.000Z'],
  ])('finds midnight in %s on %s, on ordinary days and on both DST changes', (zone, day, at) => {
    expect(new Date(startOfDay(zone, day)).toISOString()).toBe(at);
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
