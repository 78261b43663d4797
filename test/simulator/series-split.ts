// Ids only Google makes: the UI's "this and following" split (`<base>_R<date>` masters whose
// instances keep `<base>_<date>Z` ids) and events.import (ids starting with `_`).
//
// Split shapes (recorded deltas, ../shared/fixtures/google-real): the old master keeps its id and
// gets `UNTIL=<local midnight of the split day - 1 s, UTC>Z` (compass
// recurring__edit__this-and-following__this-and-following-1..4: UNTIL=20250327T045959Z for a split
// on 2025-03-27 in America/Chicago); the new master's id is `<base>_R<YYYYMMDDTHHMMSS>` (the split
// occurrence's original start in UTC, no Z), its iCalUID `<id>@google.com`, created as the old
// master's; its instances are `<base>_<YYYYMMDDTHHMMSSZ>` with recurringEventId = the `_R` master
// (northworld/cancelled_events.json: `5hskl88u70fdekmted80rkjut4_20150701T010000Z` with
// recurringEventId `5hskl88u70fdekmted80rkjut4_R20150527T010000`).
import { apiError, errors } from './errors.js';
import { clone, exceptionsOf, isMaster, ordered, render } from './event-model.js';
import { expand, findOccurrence, seriesBase, type Occurrence } from './recurrence.js';
import type { Store } from './store.js';
import type { CalendarState, EventResource, StoredEvent } from './types.js';
import {
  basicUtc,
  formatDate,
  formatInZone,
  parseDate,
  parseDateTime,
  wallAt,
  wallToInstant,
} from './tz.js';

/** `UNTIL` ending a series just before `occ`'s day (as Google's UI writes it). */
function untilBefore(master: EventResource, occ: Occurrence): string {
  if (master.start?.date) {
    const d = parseDate(occ.start.date!)!;
    const prev = new Date(Date.UTC(d.year, d.month - 1, d.day - 1));
    return formatDate({
      year: prev.getUTCFullYear(),
      month: prev.getUTCMonth() + 1,
      day: prev.getUTCDate(),
    }).replace(/-/g, '');
  }
  const tz = master.start?.timeZone ?? 'UTC';
  const w = wallAt(occ.startMs, tz);
  const midnight = wallToInstant({ ...w, hour: 0, minute: 0, second: 0 }, tz);
  return basicUtc(midnight - 1000);
}

/** RRULE lines with COUNT/UNTIL replaced; other lines kept. */
function withEnd(recurrence: string[], end: string | undefined): string[] {
  return recurrence.map((line) => {
    if (!/^RRULE:/i.test(line)) return line;
    const parts = line
      .slice(6)
      .split(';')
      .filter((p) => !/^(COUNT|UNTIL)=/i.test(p));
    if (end) parts.push(end);
    return `RRULE:${parts.join(';')}`;
  });
}

/** The occurrence `at` names: an occurrence key, an instance id, or an RFC 3339 original start. */
function occurrenceAt(master: EventResource, at: string): Occurrence | undefined {
  const key = /_(\d{8}(?:T\d{6}Z)?)$/.exec(at)?.[1] ?? at;
  const byKey = /^\d{8}(T\d{6}Z)?$/.test(key) ? findOccurrence(master, key) : undefined;
  if (byKey) return byKey;
  const ms = parseDateTime(at);
  return ms === undefined ? undefined : findOccurrence(master, basicUtc(ms));
}

export interface SplitChanges {
  summary?: string;
  description?: string;
  location?: string;
  /** Move the new series' start (and end) by this many minutes. */
  shiftMinutes?: number;
}

/**
 * "This and following" as Google's UI does it: the series ends before `at`, a new `_R` master
 * starts there with `changes`; exceptions from `at` on move to the new series (same ids). One
 * change, one notification. Returns the new master.
 */
export function splitSeries(
  store: Store,
  cal: CalendarState,
  masterId: string,
  at: string,
  changes: SplitChanges = {},
): EventResource {
  const m = cal.events.get(masterId);
  if (!m || m.deleted || !isMaster(m.resource)) throw errors.notFound();
  const occ = occurrenceAt(m.resource, at);
  if (!occ) throw errors.invalid(`no occurrence of ${masterId} at ${at}`);
  const first = expand(m.resource, undefined, 1)[0];
  if (first && first.key === occ.key)
    throw errors.invalid('the split point is the first occurrence: edit the whole series');
  const base = seriesBase(masterId);
  const newId = `${base}_R${basicUtc(occ.startMs).replace(/Z$/, '')}`;
  if (cal.events.has(newId)) throw apiError(409, 'duplicate');
  const before = clone(m.resource);
  // Occurrences left after the split (a COUNT series keeps its total).
  const countRule = (before.recurrence ?? []).join(';').match(/COUNT=(\d+)/i);
  const remaining = countRule
    ? Number(countRule[1]) - expand(before, occ.startMs, Number(countRule[1])).length
    : undefined;
  const next = buildNewMaster(before, occ, newId, changes, remaining);
  const moved = [...exceptionsOf(cal, masterId).entries()].filter(([key]) => {
    const o = findOccurrence(before, key);
    return o !== undefined && o.startMs >= occ.startMs;
  });
  store.beginWrite(cal, m);
  m.resource.recurrence = withEnd(before.recurrence ?? [], `UNTIL=${untilBefore(before, occ)}`);
  store.touch(cal, m);
  const created: StoredEvent = { resource: next, changeSeq: 0, deleted: false };
  cal.events.set(newId, created);
  store.touch(cal, created);
  for (const [, ex] of moved) {
    store.beginWrite(cal, ex);
    ex.resource.recurringEventId = newId;
    store.touch(cal, ex);
  }
  store.changed(cal);
  return render(created);
}

function buildNewMaster(
  before: EventResource,
  occ: Occurrence,
  newId: string,
  changes: SplitChanges,
  remaining: number | undefined,
): EventResource {
  const shift = (changes.shiftMinutes ?? 0) * 60_000;
  const start = clone(occ.start);
  const end = clone(occ.end);
  if (shift !== 0 && start.dateTime && end.dateTime) {
    const tz = start.timeZone ?? 'UTC';
    start.dateTime = formatInZone(parseDateTime(start.dateTime)! + shift, tz);
    end.dateTime = formatInZone(parseDateTime(end.dateTime)! + shift, end.timeZone ?? tz);
  }
  const r: EventResource = {
    ...clone(before),
    id: newId,
    htmlLink: before.htmlLink,
    start,
    end,
    recurrence: withEnd(
      before.recurrence ?? [],
      remaining !== undefined
        ? `COUNT=${remaining}`
        : before.recurrence?.join(';').match(/UNTIL=[^;]+/i)?.[0],
    ),
    iCalUID: `${newId}@google.com`,
    sequence: (before.sequence ?? 0) + (shift !== 0 ? 1 : 0),
  };
  for (const k of ['summary', 'description', 'location'] as const)
    if (changes[k] !== undefined) r[k] = changes[k];
  return ordered(r);
}

/** base32hex (RFC 4648 §7), lowercase, unpadded: Google's event id alphabet. */
function base32hex(bytes: Buffer): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuv';
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/**
 * The id Google gives an imported event: `_` + base32hex of its iCalUID (odoo/odoo#18180 shows
 * `_60q30c1g60o30e1i60o4ac1g60rj8gpl…`, the base32hex of an Outlook UID; fullcalendar#1732 lists
 * such `_8oo12…` ids among Google's id formats). At most 1024 characters.
 */
export function importedId(iCalUID: string): string {
  return `_${base32hex(Buffer.from(iCalUID, 'utf8'))}`.slice(0, 1024);
}
