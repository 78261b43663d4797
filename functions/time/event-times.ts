// Event times as instants: startAt/endAt from Google's start/end (all-day = midnight in the calendar's time zone).

interface EventDateTime {
  date?: string | null;
  dateTime?: string | null;
  timeZone?: string | null;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** A formatter that reads an instant's wall clock (24 h, to the second) in `timeZone`; undefined for an unknown zone. */
export function wallClockFormatter(timeZone: string): Intl.DateTimeFormat | undefined {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      });
    } catch {
      return undefined; // unknown zone
    }
    formatters.set(timeZone, f);
  }
  return f;
}

/** Offset of `timeZone` from UTC at instant `ms`, in ms (e.g. -5 h → -18 000 000). */
export function zoneOffsetMs(timeZone: string, ms: number): number {
  const f = wallClockFormatter(timeZone);
  if (!f) return 0;
  const parts: Record<string, number> = {};
  for (const p of f.formatToParts(new Date(ms))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const asUtc = Date.UTC(
    parts.year!,
    parts.month! - 1,
    parts.day!,
    parts.hour!,
    parts.minute!,
    parts.second!,
  );
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant a local wall-clock time happens in `timeZone`. A time skipped by a DST jump maps to
 * the instant right after the gap (e.g. a midnight that does not exist becomes 01:00 local).
 */
export function zonedTimeToUtc(
  timeZone: string,
  y: number,
  mo: number,
  d: number,
  h = 0,
  mi = 0,
  s = 0,
): number {
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  const first = wall - zoneOffsetMs(timeZone, wall);
  const second = wall - zoneOffsetMs(timeZone, first);
  if (first === second) return first;
  // Two candidates: keep one whose local time reads back as `wall`; in a gap neither does,
  // and the later candidate is the first instant after the gap.
  for (const candidate of [Math.min(first, second), Math.max(first, second)]) {
    if (candidate + zoneOffsetMs(timeZone, candidate) === wall) return candidate;
  }
  return Math.max(first, second);
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/;

/** One Google start/end as epoch ms, or undefined when absent or unparseable. */
export function instantOf(
  value: EventDateTime | null | undefined,
  calendarTimeZone: string,
): number | undefined {
  if (!value) return undefined;
  if (value.dateTime) {
    const local = LOCAL_DATE_TIME.exec(value.dateTime);
    if (local) {
      // No offset: wall time in the event's (or calendar's) zone.
      const [, y, mo, d, h, mi, s] = local;
      return zonedTimeToUtc(
        value.timeZone || calendarTimeZone,
        Number(y),
        Number(mo),
        Number(d),
        Number(h),
        Number(mi),
        Number(s ?? 0),
      );
    }
    const ms = Date.parse(value.dateTime);
    return Number.isNaN(ms) ? undefined : ms;
  }
  if (value.date) {
    const m = DATE.exec(value.date);
    if (!m) return undefined;
    return zonedTimeToUtc(calendarTimeZone, Number(m[1]), Number(m[2]), Number(m[3]));
  }
  return undefined;
}

/** startAt/endAt (ms) for an event; the end of an all-day event is exclusive, as Google sends it. */
export function eventTimes(
  event: { start?: EventDateTime | null; end?: EventDateTime | null },
  calendarTimeZone: string,
): { startAt: number | undefined; endAt: number | undefined } {
  return {
    startAt: instantOf(event.start, calendarTimeZone),
    endAt: instantOf(event.end, calendarTimeZone),
  };
}
