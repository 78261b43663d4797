// Day arithmetic in a calendar's time zone (pure): where "today" starts and how an instant reads there. The zone math is functions/time's, the same the mirror's startAt/endAt use.
import { zoneOffsetMs, zonedTimeToUtc } from '../../functions/time/event-times.js';

const DAY_MS = 86_400_000;

/** The calendar day (`YYYY-MM-DD`) that `ms` falls on in `zone`. */
export function dayOf(zone: string, ms: number): string {
  return new Date(ms + zoneOffsetMs(zone, ms)).toISOString().slice(0, 10);
}

/** The instant at which `day` (`YYYY-MM-DD`) begins in `zone` (a midnight skipped by DST: the first instant after the gap). */
export function startOfDay(zone: string, day: string): number {
  const [y, m, d] = day.split('-').map(Number);
  return zonedTimeToUtc(zone, y!, m!, d!);
}

/** `count` consecutive days starting with the one `now` falls on in `zone`. */
export function daysFrom(zone: string, now: number, count: number): string[] {
  const first = Date.parse(`${dayOf(zone, now)}T00:00:00Z`);
  return Array.from({ length: count }, (_, i) =>
    new Date(first + i * DAY_MS).toISOString().slice(0, 10),
  );
}

/** The day after `day` (`YYYY-MM-DD`). */
export function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
}
