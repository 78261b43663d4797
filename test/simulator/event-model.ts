// How stored events look on the wire: full, id-only cancelled, cancelled exception, virtual instance.
// Cancelled items carry only what Google guarantees (CALENDAR-API.md; compass recurring__delete__*):
// `kind`, `etag`, `id`, `status` (+ `recurringEventId`, `originalStartTime` for a cancelled instance).
import {
  expand,
  findOccurrence,
  keyOf,
  seriesBase,
  splitInstanceId,
  type Occurrence,
} from './recurrence.js';
import { unitFor } from './random.js';
import type { CalendarState, EventResource, StoredEvent } from './types.js';

export function clone<T>(v: T): T {
  return structuredClone(v);
}

export function isMaster(r: EventResource): boolean {
  return Array.isArray(r.recurrence) && r.recurrence.length > 0 && !r.recurringEventId;
}

export function isCancelledException(ev: StoredEvent): boolean {
  return !ev.deleted && ev.resource.status === 'cancelled' && !!ev.resource.recurringEventId;
}

export function idOnly(r: EventResource): EventResource {
  return { kind: 'calendar#event', etag: r.etag, id: r.id, status: 'cancelled' };
}

export function cancelledInstance(r: EventResource, opts: RenderOptions = {}): EventResource {
  const original = clone(r.originalStartTime);
  // Recorded cancelled instances often lack originalStartTime.timeZone
  // (fixture northworld/cancelled_events.json: {"dateTime": "2015-07-01T10:00:00+09:00"}).
  if (opts.untidySeed !== undefined && original) delete original.timeZone;
  return {
    kind: 'calendar#event',
    etag: r.etag,
    id: r.id,
    status: 'cancelled',
    recurringEventId: r.recurringEventId,
    originalStartTime: original,
  };
}

export interface RenderOptions {
  maxAttendees?: number;
  /** untidyEvents: the seed that picks which events lack which fields. */
  untidySeed?: number;
  /** Access roles: 'all' (freeBusyReader) or 'private' (reader, private events) see busy blocks. */
  hide?: 'all' | 'private';
}

/** Wire form of a stored event. */
export function render(ev: StoredEvent, opts: RenderOptions = {}): EventResource {
  if (ev.deleted) return idOnly(ev.resource);
  if (isCancelledException(ev)) return cancelledInstance(ev.resource, opts);
  return finish(clone(ev.resource), opts);
}

function finish(input: EventResource, opts: RenderOptions): EventResource {
  let r = ordered(input);
  if (
    opts.maxAttendees !== undefined &&
    Array.isArray(r.attendees) &&
    r.attendees.length > opts.maxAttendees
  ) {
    r.attendees = r.attendees.slice(0, opts.maxAttendees);
    r.attendeesOmitted = true;
  }
  if (opts.untidySeed !== undefined) untidy(r, opts.untidySeed);
  if (opts.hide === 'all' || (opts.hide === 'private' && r.visibility === 'private'))
    r = busyBlock(r);
  return r;
}

/** Share of events lacking each field under untidyEvents. */
export const UNTIDY_RATE = 0.2;

/**
 * Real events may lack creator, organizer, reminders and iCalUID (CALENDAR-API.md "The Event
 * resource": a store must treat every field but `id` as optional; events from other calendars,
 * imports and birthdays come without them). Which ones is seeded per series, so every instance of
 * a series looks alike.
 */
function untidy(r: EventResource, seed: number): void {
  const series = r.recurringEventId ?? r.id ?? '';
  for (const field of ['creator', 'organizer', 'reminders', 'iCalUID'] as const) {
    if (unitFor(`untidy|${field}|${series}`, seed) < UNTIDY_RATE) delete r[field];
  }
}

/**
 * What a freeBusyReader sees (and a reader of a private event): a busy block. Fields as in an
 * events.list answer recorded for a freeBusyReader calendar (found by code search: kind, etag, id,
 * status, htmlLink, updated, start, end, visibility "private", iCalUID — no summary, creator,
 * organizer, reminders). Series structure (recurrence, recurringEventId, originalStartTime) is
 * kept: no recording shows a recurring event through this role.
 */
function busyBlock(r: EventResource): EventResource {
  const out: Record<string, unknown> = {};
  for (const k of [
    'kind',
    'etag',
    'id',
    'status',
    'htmlLink',
    'updated',
    'start',
    'end',
    'recurrence',
    'recurringEventId',
    'originalStartTime',
  ] as const) {
    if (r[k] !== undefined) out[k] = r[k];
  }
  out.visibility = 'private';
  if (r.iCalUID !== undefined) out.iCalUID = r.iCalUID;
  return out as EventResource;
}

/** An unmodified instance of a series, as singleEvents=true / instances / get show it. */
export function virtualInstance(
  master: EventResource,
  occ: Occurrence,
  opts: RenderOptions = {},
): EventResource {
  const r = clone(master);
  delete r.recurrence;
  const out: EventResource = {};
  // Keep Google's key order: id after etag, recurringEventId/originalStartTime after end.
  for (const [k, v] of Object.entries(r)) {
    if (k === 'id') out.id = `${seriesBase(master.id!)}_${occ.key}`;
    else if (k === 'start') out.start = clone(occ.start);
    else if (k === 'end') {
      out.end = clone(occ.end);
      out.recurringEventId = master.id;
      out.originalStartTime = clone(occ.start);
    } else out[k] = v;
  }
  return finish(out, opts);
}

/** Exceptions (stored instances) of a master, by occurrence key. */
export function exceptionsOf(cal: CalendarState, masterId: string): Map<string, StoredEvent> {
  const out = new Map<string, StoredEvent>();
  for (const ev of cal.events.values()) {
    if (ev.resource.recurringEventId === masterId && ev.resource.originalStartTime) {
      const key = keyOf(ev.resource.originalStartTime);
      if (key) out.set(key, ev);
    }
  }
  return out;
}

export type Resolved =
  { kind: 'stored'; ev: StoredEvent } | { kind: 'virtual'; master: StoredEvent; occ: Occurrence };

/** Find an event id: a stored event, or an unmodified instance `<masterId>_<key>` of a live series. */
export function resolveEvent(cal: CalendarState, eventId: string): Resolved | undefined {
  const ev = cal.events.get(eventId);
  if (ev && !ev.deleted) return { kind: 'stored', ev };
  const split = splitInstanceId(eventId);
  const virtual = split ? virtualOf(cal, split.masterId, split.key) : undefined;
  // A deleted exception of an ended series yields to the live instance of its `_R` successor.
  if (virtual) return virtual;
  return ev ? { kind: 'stored', ev } : undefined;
}

/** The unmodified instance `<base>_<key>` of the base series or of one of its `_R` successors. */
function virtualOf(cal: CalendarState, base: string, key: string): Resolved | undefined {
  const candidates = [cal.events.get(base)];
  for (const [id, ev] of cal.events) if (id.startsWith(`${base}_R`)) candidates.push(ev);
  for (const master of candidates) {
    if (!master || master.deleted || !isMaster(master.resource)) continue;
    if (seriesBase(master.resource.id!) !== base) continue;
    const occ = findOccurrence(master.resource, key);
    if (occ) return { kind: 'virtual', master, occ };
  }
  return undefined;
}

/** Order keys like Google's captured events. */
export function ordered(r: EventResource): EventResource {
  const order = [
    'kind',
    'etag',
    'id',
    'status',
    'htmlLink',
    'created',
    'updated',
    'summary',
    'description',
    'location',
    'colorId',
    'creator',
    'organizer',
    'start',
    'end',
    'endTimeUnspecified',
    'recurrence',
    'recurringEventId',
    'originalStartTime',
    'transparency',
    'visibility',
    'iCalUID',
    'sequence',
  ];
  const out: EventResource = {};
  for (const k of order) if (r[k] !== undefined) out[k] = r[k];
  for (const [k, v] of Object.entries(r)) if (out[k] === undefined && v !== undefined) out[k] = v;
  return out;
}

export { expand };
