// Time-zone arithmetic with Intl: wall-clock <-> instant conversions and RFC 3339 formatting.
import { wallClockFormatter } from '../../functions/time/event-times.js';

export interface Wall {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** Intl's wall-clock reader for `tz` (the one Intl set-up calsync uses too); throws for an unknown zone. */
function formatter(tz: string): Intl.DateTimeFormat {
  const f = wallClockFormatter(tz);
  if (!f) throw new RangeError(`Invalid time zone specified: ${tz}`);
  return f;
}

export function isValidTimeZone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

/** Wall-clock reading of an instant in a zone. */
export function wallAt(ms: number, tz: string): Wall {
  const parts = formatter(tz).formatToParts(new Date(ms));
  const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour'),
    minute: get('minute'),
    second: get('second'),
  };
}

/** Offset of a zone at an instant, in ms (east positive). */
export function offsetAt(ms: number, tz: string): number {
  const w = wallAt(ms, tz);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - (ms - (ms % 1000));
}

/** The instant a wall-clock time happens in a zone (gap times move forward, as calendars do). */
export function wallToInstant(w: Wall, tz: string): number {
  const guess = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  const o1 = offsetAt(guess - 0, tz);
  let inst = guess - o1;
  const o2 = offsetAt(inst, tz);
  if (o2 !== o1) inst = guess - o2;
  return inst;
}

/** Floating (UTC-fields-as-wall) Date <-> Wall, the representation rrule works in. */
export function floatingToWall(d: Date): Wall {
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
  };
}

export function wallToFloating(w: Wall): Date {
  return new Date(Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second));
}

const pad = (n: number, l = 2): string => String(n).padStart(l, '0');

/** RFC 3339 with the zone's offset at that instant, e.g. 2025-03-24T07:30:00-05:00. */
export function formatInZone(ms: number, tz: string): string {
  const w = wallAt(ms, tz);
  const off = Math.round(offsetAt(ms, tz) / 60000);
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return (
    `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}` +
    `${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`
  );
}

export function formatDate(w: Pick<Wall, 'year' | 'month' | 'day'>): string {
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
}

/** `YYYYMMDDTHHMMSSZ` of an instant (instance id suffix, iCalendar UTC form). */
export function basicUtc(ms: number): string {
  const d = new Date(ms);
  return (
    `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T` +
    `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`
  );
}

export function parseDate(s: string): { year: number; month: number; day: number } | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return undefined;
  return { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
}

/** Parse an RFC 3339 date-time with offset or Z. Returns epoch ms or undefined. */
export function parseDateTime(s: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(s)) {
    return undefined;
  }
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : ms;
}
