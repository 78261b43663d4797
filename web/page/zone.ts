// Day arithmetic in a calendar's time zone (pure): where "today" starts and how an instant reads there.

const partsFormat = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = partsFormat.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    partsFormat.set(zone, f);
  }
  return f;
}

/** The wall-clock reading of `ms` in `zone`, as if that reading were UTC (ms). */
function wallAsUtc(zone: string, ms: number): number {
  const p: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(new Date(ms))) {
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  }
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
}

/** The calendar day (`YYYY-MM-DD`) that `ms` falls on in `zone`. */
export function dayOf(zone: string, ms: number): string {
  return new Date(wallAsUtc(zone, ms)).toISOString().slice(0, 10);
}

/** The instant at which `day` (`YYYY-MM-DD`) begins in `zone` (DST-correct to the second). */
export function startOfDay(zone: string, day: string): number {
  const wall = Date.parse(`${day}T00:00:00Z`);
  let guess = wall - (wallAsUtc(zone, wall) - wall);
  guess -= wallAsUtc(zone, guess) - wall; // second pass: the offset at the guess, not at `wall`
  return guess;
}

/** `count` consecutive days starting with the one `now` falls on in `zone`. */
export function daysFrom(zone: string, now: number, count: number): string[] {
  const first = Date.parse(`${dayOf(zone, now)}T00:00:00Z`);
  return Array.from({ length: count }, (_, i) =>
    new Date(first + i * 86_400_000).toISOString().slice(0, 10),
  );
}

/** The day after `day` (`YYYY-MM-DD`). */
export function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}
