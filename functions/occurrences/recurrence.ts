// Google `recurrence` lines (RRULE/EXRULE/RDATE/EXDATE) → an rrule set over "floating" wall-clock dates.
// rrule is run without a TZID: its UTC fields are read as wall-clock time in the series' zone and
// turned into instants afterwards (zone.ts), so every instance keeps its wall-clock time across DST.
import rrule from 'rrule';
import { instantOfWall, wallOf } from './zone.js';

const { RRule, RRuleSet } = rrule;
export type RuleSet = InstanceType<typeof RRuleSet>;

export class RecurrenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecurrenceError';
  }
}

export interface SeriesClock {
  /** First instance as a floating value (UTC fields = wall-clock fields in `timeZone`). */
  dtstart: number;
  allDay: boolean;
  /** The series' zone (start.timeZone, else the calendar's). */
  timeZone: string;
}

interface Line {
  name: string;
  params: Record<string, string>;
  value: string;
}

function parseLine(raw: string): Line {
  const colon = raw.indexOf(':');
  if (colon < 0) throw new RecurrenceError(`recurrence line without a value: ${raw}`);
  const [name = '', ...rest] = raw.slice(0, colon).split(';');
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq > 0) params[p.slice(0, eq).toUpperCase()] = p.slice(eq + 1);
  }
  return { name: name.trim().toUpperCase(), params, value: raw.slice(colon + 1).trim() };
}

const DATE_VALUE = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/;
const DAY_MS = 24 * 3600 * 1000;

/** One RDATE/EXDATE value as a floating value in the series' zone. */
function floatingDate(value: string, params: Record<string, string>, clock: SeriesClock): number {
  const start = value.split('/')[0] ?? ''; // VALUE=PERIOD: start/end or start/duration
  const m = DATE_VALUE.exec(start.trim());
  if (!m) throw new RecurrenceError(`invalid date in recurrence: ${value}`);
  const day = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  let wall: number;
  if (m[4] === undefined) {
    // A date: the whole day (all-day series) or that day at the series' time of day.
    wall = clock.allDay ? day : day + (((clock.dtstart % DAY_MS) + DAY_MS) % DAY_MS);
  } else {
    const local = day + (Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6])) * 1000;
    if (m[7]) wall = wallOf(local, clock.timeZone);
    else if (params.TZID && params.TZID !== clock.timeZone) {
      wall = wallOf(instantOfWall(local, params.TZID), clock.timeZone);
    } else wall = local;
  }
  return clock.allDay ? Math.floor(wall / DAY_MS) * DAY_MS : wall;
}

function rule(value: string, clock: SeriesClock) {
  let options: ReturnType<typeof RRule.parseString>;
  try {
    options = RRule.parseString(value);
  } catch (err) {
    throw new RecurrenceError(`invalid RRULE ${value}: ${(err as Error).message}`);
  }
  if (options.freq === undefined) throw new RecurrenceError(`RRULE without FREQ: ${value}`);
  if (options.until) {
    const until = options.until.getTime();
    if (/UNTIL=\d{8}T\d{6}Z/i.test(value)) {
      // A UTC instant (what Google writes for timed series): compare in wall-clock time.
      options.until = new Date(wallOf(until, clock.timeZone));
    } else if (/UNTIL=\d{8}(;|$)/i.test(value) && !clock.allDay) {
      options.until = new Date(until + DAY_MS - 1000); // a date: through the end of that day
    }
  }
  return new RRule({ ...options, tzid: null, dtstart: new Date(clock.dtstart) });
}

/**
 * The rule set of a series. Without an RRULE, DTSTART is an instance (plus any RDATEs); with one,
 * like rrule and the simulator, a DTSTART the rule does not match is not added.
 */
export function buildRuleSet(recurrence: readonly string[], clock: SeriesClock): RuleSet {
  const set = new RRuleSet();
  let rules = 0;
  for (const raw of recurrence) {
    if (raw.trim() === '') continue;
    const line = parseLine(raw);
    switch (line.name) {
      case 'RRULE':
        set.rrule(rule(line.value, clock));
        rules++;
        break;
      case 'EXRULE':
        set.exrule(rule(line.value, clock));
        break;
      case 'RDATE':
      case 'EXDATE':
        for (const v of line.value.split(',')) {
          if (v.trim() === '') continue;
          const date = new Date(floatingDate(v, line.params, clock));
          if (line.name === 'RDATE') set.rdate(date);
          else set.exdate(date);
        }
        break;
      default:
        throw new RecurrenceError(`unsupported recurrence line: ${line.name}`);
    }
  }
  if (rules === 0) set.rdate(new Date(clock.dtstart));
  return set;
}

/** Instances (floating values) starting in [from, to], at most `limit` of them. */
export function instancesBetween(set: RuleSet, from: number, to: number, limit: number): number[] {
  return set
    .between(new Date(from), new Date(to), true, (_d, i) => i < limit)
    .map((d) => d.getTime());
}
