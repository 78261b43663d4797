// RRULE/RDATE/EXDATE expansion of recurring masters with the `rrule` package, in the master's time zone.
// rrule works on "floating" dates (UTC fields read as wall-clock time); we convert to real instants
// with tz.ts so DST shifts land on the right UTC time. Google's rules: recurring masters carry
// start.timeZone; instance ids are `<masterId>_<YYYYMMDDTHHMMSSZ>` (UTC) or `_<YYYYMMDD>` for all-day
// (https://developers.google.com/calendar/api/guides/recurringevents).
import rrule from 'rrule';
import type { EventDateTime, EventResource } from './types.js';
import {
  basicUtc,
  floatingToWall,
  formatDate,
  formatInZone,
  parseDate,
  parseDateTime,
  wallAt,
  wallToFloating,
  wallToInstant,
} from './tz.js';

const { RRule, RRuleSet } = rrule;

/** Upper bound of instances produced per series when no timeMax bounds an open-ended rule. */
export const MAX_INSTANCES_PER_SERIES = 730;

export interface Occurrence {
  /** Suffix of the instance id (after `_`). */
  key: string;
  /** Start instant (timed) or UTC midnight of the date (all-day), for ordering and windows. */
  startMs: number;
  endMs: number;
  start: EventDateTime;
  end: EventDateTime;
}

export class RecurrenceError extends Error {}

interface Prepared {
  set: InstanceType<typeof RRuleSet>;
  allDay: boolean;
  tz: string;
  durationMs: number;
  endTz: string;
}

function toFloating(
  value: string,
  params: Record<string, string>,
  tz: string,
  allDay: boolean,
): Date {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/.exec(value.trim());
  if (!m) throw new RecurrenceError(`Invalid date in recurrence: ${value}`);
  const w = {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4] ?? 0),
    minute: Number(m[5] ?? 0),
    second: Number(m[6] ?? 0),
  };
  if (allDay) return wallToFloating({ ...w, hour: 0, minute: 0, second: 0 });
  if (m[7])
    return wallToFloating(
      wallAt(Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second), tz),
    );
  const srcTz = params.TZID;
  if (srcTz && srcTz !== tz) return wallToFloating(wallAt(wallToInstant(w, srcTz), tz));
  return wallToFloating(w);
}

function parseLine(line: string): { name: string; params: Record<string, string>; value: string } {
  const idx = line.indexOf(':');
  if (idx < 0) throw new RecurrenceError(`Invalid recurrence line: ${line}`);
  const [name, ...paramParts] = line.slice(0, idx).split(';');
  const params: Record<string, string> = {};
  for (const p of paramParts) {
    const [k, v] = p.split('=');
    if (k && v) params[k.toUpperCase()] = v;
  }
  return { name: (name ?? '').toUpperCase(), params, value: line.slice(idx + 1) };
}

function prepare(master: EventResource): Prepared {
  const start = master.start ?? {};
  const end = master.end ?? {};
  const allDay = !!start.date;
  const tz = start.timeZone ?? 'UTC';
  let dtstart: Date;
  let durationMs: number;
  if (allDay) {
    const d = parseDate(start.date ?? '');
    const e = parseDate(end.date ?? '');
    if (!d || !e) throw new RecurrenceError('Invalid all-day dates');
    dtstart = wallToFloating({ ...d, hour: 0, minute: 0, second: 0 });
    durationMs =
      wallToFloating({ ...e, hour: 0, minute: 0, second: 0 }).getTime() - dtstart.getTime();
  } else {
    const s = parseDateTime(start.dateTime ?? '');
    const e = parseDateTime(end.dateTime ?? '');
    if (s === undefined || e === undefined) throw new RecurrenceError('Invalid start/end');
    dtstart = wallToFloating(wallAt(s, tz));
    durationMs = e - s;
  }
  const set = new RRuleSet();
  let rules = 0;
  for (const raw of master.recurrence ?? []) {
    const line = parseLine(raw);
    if (line.name === 'RRULE') {
      let options;
      try {
        options = RRule.parseString(line.value);
      } catch {
        throw new RecurrenceError(`Invalid recurrence rule: ${raw}`);
      }
      if (options.until) {
        // UNTIL=...Z is a UTC instant: convert to wall time in the series' zone.
        const utc = /UNTIL=\d{8}T\d{6}Z/i.test(line.value);
        if (utc && !allDay) options.until = wallToFloating(wallAt(options.until.getTime(), tz));
      }
      set.rrule(new RRule({ ...options, tzid: null, dtstart }));
      rules++;
    } else if (line.name === 'RDATE' || line.name === 'EXDATE') {
      for (const v of line.value.split(',')) {
        const f = toFloating(v, line.params, tz, allDay);
        if (line.name === 'RDATE') set.rdate(f);
        else set.exdate(f);
      }
    } else if (line.name !== 'EXRULE') {
      throw new RecurrenceError(`Invalid recurrence line: ${raw}`);
    }
  }
  if (
    rules === 0 &&
    (master.recurrence ?? []).length > 0 &&
    !(master.recurrence ?? []).some((l) => l.startsWith('RDATE'))
  ) {
    throw new RecurrenceError('Recurrence has no RRULE or RDATE');
  }
  return { set, allDay, tz, durationMs, endTz: end.timeZone ?? tz };
}

function occurrenceFrom(p: Prepared, floating: Date): Occurrence {
  if (p.allDay) {
    const w = floatingToWall(floating);
    const endW = floatingToWall(new Date(floating.getTime() + p.durationMs));
    return {
      key: formatDate(w).replace(/-/g, ''),
      startMs: floating.getTime(),
      endMs: floating.getTime() + p.durationMs,
      start: { date: formatDate(w) },
      end: { date: formatDate(endW) },
    };
  }
  const startMs = wallToInstant(floatingToWall(floating), p.tz);
  const endMs = startMs + p.durationMs;
  return {
    key: basicUtc(startMs),
    startMs,
    endMs,
    start: { dateTime: formatInZone(startMs, p.tz), timeZone: p.tz },
    end: { dateTime: formatInZone(endMs, p.endTz), timeZone: p.endTz },
  };
}

/** Occurrences before a window are skipped without a bound, so a long series costs this much at most. */
const MAX_SKIPPED = 1_000_000;

/**
 * Occurrences of a series in start order: those ending after `windowStartMs` (all when absent)
 * and starting before `windowEndMs`, at most `limit` of them. Occurrences before the window do not
 * count toward the limit, so an open-ended series that began long ago still has its instances
 * inside a later window (Google lists them; the simulator used to stop after the first 730).
 */
export function expand(
  master: EventResource,
  windowEndMs?: number,
  limit = MAX_INSTANCES_PER_SERIES,
  windowStartMs?: number,
): Occurrence[] {
  const p = prepare(master);
  const out: Occurrence[] = [];
  let skipped = 0;
  p.set.all((d) => {
    const occ = occurrenceFrom(p, d);
    if (windowEndMs !== undefined && occ.startMs >= windowEndMs) return false;
    // timeMin bounds an occurrence's end (events.list reference), as inWindow in events-list.ts.
    if (windowStartMs !== undefined && occ.endMs <= windowStartMs) return ++skipped < MAX_SKIPPED;
    out.push(occ);
    return out.length < limit;
  });
  return out;
}

/** The occurrence of `master` whose id suffix is `key`, if the series has one. */
export function findOccurrence(master: EventResource, key: string): Occurrence | undefined {
  const p = prepare(master);
  let floating: Date;
  if (/^\d{8}$/.test(key)) {
    if (!p.allDay) return undefined;
    floating = new Date(Date.UTC(+key.slice(0, 4), +key.slice(4, 6) - 1, +key.slice(6, 8)));
  } else {
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(key);
    if (!m || p.allDay) return undefined;
    const inst = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
    floating = wallToFloating(wallAt(inst, p.tz));
  }
  const hits = p.set.between(
    new Date(floating.getTime() - 1000),
    new Date(floating.getTime() + 1000),
    true,
  );
  const hit = hits.find((d) => d.getTime() === floating.getTime());
  return hit ? occurrenceFrom(p, hit) : undefined;
}

/** Validate a master's recurrence (throws RecurrenceError). */
export function validateRecurrence(master: EventResource): void {
  try {
    const p = prepare(master);
    p.set.all((_d, i) => i < 2);
  } catch (e) {
    if (e instanceof RecurrenceError) throw e;
    throw new RecurrenceError(e instanceof Error ? e.message : String(e));
  }
}

/**
 * The base id of a series: a `_R<date>` master made by a "this and following" split names its
 * instances after the base (`<base>_<key>`), not after itself (series-split.ts).
 */
export function seriesBase(masterId: string): string {
  return masterId.replace(/_R\d{8}(?:T\d{6})?$/, '');
}

/** Split an instance id into master id and occurrence key, or undefined if it is not one. */
export function splitInstanceId(id: string): { masterId: string; key: string } | undefined {
  const m = /^(.+)_(\d{8}(?:T\d{6}Z)?)$/.exec(id);
  return m ? { masterId: m[1]!, key: m[2]! } : undefined;
}

/** Occurrence key of an originalStartTime (for exceptions). */
export function keyOf(original: EventDateTime): string | undefined {
  if (original.date) return original.date.replace(/-/g, '');
  const ms = parseDateTime(original.dateTime ?? '');
  return ms === undefined ? undefined : basicUtc(ms);
}
