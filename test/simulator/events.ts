// events.get / insert / update / patch / delete, including edits and deletes of single instances.
// Reference: https://developers.google.com/calendar/api/v3/reference/events and
// https://developers.google.com/calendar/api/guides/recurringevents ("modifying instances").
import type { ApiContext } from './context.js';
import { ApiError, apiError, errors } from './errors.js';
import type { Reply } from './http.js';
import {
  clone,
  exceptionsOf,
  isCancelledException,
  isMaster,
  render,
  resolveEvent,
  ordered,
  virtualInstance,
  type RenderOptions,
} from './event-model.js';
import { findOccurrence, RecurrenceError, validateRecurrence } from './recurrence.js';
import { importedId } from './series-split.js';
import type { CalendarState, EventResource, StoredEvent } from './types.js';
import { formatInZone, isValidTimeZone, parseDate, parseDateTime, wallToInstant } from './tz.js';

/** Fields only the server sets; ignored in request bodies. */
const SERVER_FIELDS = [
  'kind',
  'etag',
  'id',
  'htmlLink',
  'created',
  'updated',
  'creator',
  'iCalUID',
];

function htmlLink(id: string, calendarId: string): string {
  return `https://www.google.com/calendar/event?eid=${Buffer.from(`${id} ${calendarId}`).toString('base64url')}`;
}

function startMs(dt: { date?: string; dateTime?: string } | undefined): number | undefined {
  if (!dt) return undefined;
  if (dt.dateTime) return parseDateTime(dt.dateTime);
  const d = dt.date ? parseDate(dt.date) : undefined;
  return d ? Date.UTC(d.year, d.month - 1, d.day) : undefined;
}

/**
 * A dateTime without an offset is a wall-clock time in its `timeZone` ("A time zone offset is
 * required unless a time zone is explicitly specified in timeZone" — events resource reference,
 * https://developers.google.com/calendar/api/v3/reference/events). Google answers with the offset
 * filled in, so the stored form always carries one; without a timeZone the value stays invalid.
 */
function normalizeLocalDateTime(
  dt: { dateTime?: string | null; timeZone?: string | null } | undefined,
): void {
  const m = dt?.dateTime
    ? /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?$/.exec(dt.dateTime)
    : null;
  if (!dt || !m || !dt.timeZone || !isValidTimeZone(dt.timeZone)) return;
  const [year, month, day, hour, minute, second] = m.slice(1).map((v) => Number(v ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  dt.dateTime = formatInZone(
    wallToInstant({ year, month, day, hour, minute, second }, dt.timeZone),
    dt.timeZone,
  );
}

/** Validation Google applies to an event body (messages as Google words them where known). */
export function validateEvent(r: EventResource): void {
  normalizeLocalDateTime(r.start);
  normalizeLocalDateTime(r.end);
  if (!r.start || typeof r.start !== 'object') throw errors.required('Missing start time.');
  if (!r.end || typeof r.end !== 'object') throw errors.required('Missing end time.');
  const sAllDay = !!r.start.date;
  const eAllDay = !!r.end.date;
  if ((!r.start.date && !r.start.dateTime) || (!r.end.date && !r.end.dateTime)) {
    throw errors.required(
      !r.start.date && !r.start.dateTime ? 'Missing start time.' : 'Missing end time.',
    );
  }
  if (sAllDay !== eAllDay) {
    throw errors.invalid('Start and end times must either both be date or both be dateTime.');
  }
  const s = startMs(r.start);
  const e = startMs(r.end);
  if (s === undefined) throw errors.invalid('Invalid start time.');
  if (e === undefined) throw errors.invalid('Invalid end time.');
  for (const [which, dt] of [
    ['start', r.start],
    ['end', r.end],
  ] as const) {
    if (dt.timeZone !== undefined && !isValidTimeZone(dt.timeZone)) {
      throw errors.invalid(`Invalid time zone definition for ${which} time.`);
    }
  }
  if (e < s || (e === s && sAllDay)) {
    throw apiError(400, 'timeRangeEmpty', 'The specified time range is empty.');
  }
  if (r.recurrence !== undefined) {
    if (!Array.isArray(r.recurrence) || r.recurrence.some((l) => typeof l !== 'string')) {
      throw errors.invalid('Invalid recurrence rule.');
    }
    if (r.recurrence.length > 0) {
      // Recurring masters need a time zone for their (timed) start: Google's
      // "Missing time zone definition for start time." (400 required).
      if (!sAllDay && !r.start.timeZone)
        throw errors.required('Missing time zone definition for start time.');
      try {
        validateRecurrence(r);
      } catch (err) {
        if (err instanceof RecurrenceError) throw errors.invalid('Invalid recurrence rule.');
        throw err;
      }
    }
  }
  if (
    r.status !== undefined &&
    !['confirmed', 'tentative', 'cancelled'].includes(String(r.status))
  ) {
    throw errors.invalid();
  }
}

function timesChanged(a: EventResource, b: EventResource): boolean {
  return (
    JSON.stringify([a.start, a.end, a.recurrence ?? null]) !==
    JSON.stringify([b.start, b.end, b.recurrence ?? null])
  );
}

/** JSON merge for PATCH: objects merge recursively, arrays and scalars replace, null clears. */
function merge(
  target: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete target[k];
    else if (
      typeof v === 'object' &&
      !Array.isArray(v) &&
      typeof target[k] === 'object' &&
      target[k] !== null &&
      !Array.isArray(target[k])
    ) {
      target[k] = merge(clone(target[k] as Record<string, unknown>), v as Record<string, unknown>);
    } else target[k] = clone(v);
  }
  return target;
}

function stripServerFields(body: Record<string, unknown>): Record<string, unknown> {
  const out = clone(body);
  for (const f of SERVER_FIELDS) delete out[f];
  return out;
}

function checkIfMatch(ctx: ApiContext, current: EventResource): void {
  const ifMatch = ctx.headers['if-match'];
  if (typeof ifMatch === 'string' && ifMatch !== '*' && ifMatch !== current.etag) {
    throw apiError(412, 'conditionNotMet');
  }
}

export function getEvent(ctx: ApiContext, cal: CalendarState, eventId: string): Reply {
  const found = resolveEvent(cal, eventId);
  if (!found) throw errors.notFound();
  if (found.kind === 'virtual') {
    return {
      status: 200,
      body: virtualInstance(found.master.resource, found.occ, {
        ...maxAttendees(ctx),
        ...viewOptions(ctx, cal),
      }),
    };
  }
  // A deleted event is still readable with status "cancelled" (Google's events.get behaviour).
  return {
    status: 200,
    body: render(found.ev, { ...maxAttendees(ctx), ...viewOptions(ctx, cal) }),
  };
}

function maxAttendees(ctx: ApiContext): { maxAttendees?: number } {
  const m = ctx.query.int('maxAttendees');
  return m === undefined ? {} : { maxAttendees: m };
}

/** How this caller sees events of `cal`: untidy fields, busy blocks for limited roles. */
export function viewOptions(ctx: ApiContext, cal: CalendarState): RenderOptions {
  const { realism } = ctx.settings;
  const out: RenderOptions = {};
  if (realism.untidyEvents) out.untidySeed = ctx.settings.seed;
  if (realism.enforceAccessRoles) {
    const role = ctx.store.roleOf(ctx.user, cal);
    if (role === 'freeBusyReader') out.hide = 'all';
    else if (role === 'reader') out.hide = 'private';
  }
  return out;
}

/**
 * With enforceAccessRoles, writes need writer or owner: 403 requiredAccessLevel "You need to have
 * writer access to this calendar." (domain calendar; the answer public clients record).
 */
function requireWriter(ctx: ApiContext, cal: CalendarState): void {
  if (!ctx.settings.realism.enforceAccessRoles) return;
  const role = ctx.store.roleOf(ctx.user, cal);
  if (role === 'owner' || role === 'writer') return;
  throw new ApiError(403, {
    domain: 'calendar',
    reason: 'requiredAccessLevel',
    message: 'You need to have writer access to this calendar.',
  });
}

export function insertEvent(ctx: ApiContext, cal: CalendarState, imported?: { id: string }): Reply {
  requireWriter(ctx, cal);
  const body = stripServerFields(ctx.body) as EventResource;
  // events.import names the event itself (`_…`, series-split.ts importedId).
  let id = imported ? imported.id : typeof ctx.body.id === 'string' ? ctx.body.id : undefined;
  if (id !== undefined && !imported) {
    // Client-chosen ids: base32hex characters (a-v, 0-9), 5 to 1024 long (events.insert reference).
    if (!/^[a-v0-9]{5,1024}$/.test(id)) throw errors.invalid('Invalid resource id value.');
    if (cal.events.has(id)) throw apiError(409, 'duplicate');
  } else if (id === undefined) {
    do id = ctx.store.random.eventId();
    while (cal.events.has(id));
  }
  if (body.recurringEventId !== undefined || body.originalStartTime !== undefined) {
    throw errors.invalid('Instances cannot be inserted; modify them through the series instead.');
  }
  validateEvent(body);
  const now = ctx.store.clock.iso();
  const email = ctx.user.email;
  const resource: EventResource = ordered({
    kind: 'calendar#event',
    id,
    status: body.status ?? 'confirmed',
    htmlLink: htmlLink(id, cal.id),
    created: now,
    ...body,
    // An imported copy keeps its own organizer and has no creator on this calendar.
    creator: imported ? undefined : { email, self: true },
    organizer: body.organizer ?? { email: cal.id, self: true },
    iCalUID: typeof ctx.body.iCalUID === 'string' ? ctx.body.iCalUID : `${id}@google.com`,
    sequence: typeof body.sequence === 'number' ? body.sequence : 0,
    reminders: body.reminders ?? { useDefault: true },
    eventType: body.eventType ?? 'default',
  });
  if (!isMaster(resource)) delete resource.recurrence;
  const ev: StoredEvent = { resource, changeSeq: 0, deleted: resource.status === 'cancelled' };
  cal.events.set(id, ev);
  ctx.store.touch(cal, ev);
  ctx.store.changed(cal);
  return { status: 200, body: render({ ...ev, deleted: false }, viewOptions(ctx, cal)) };
}

/**
 * events.import: "a private copy of an existing event" by iCalUID (events.import reference). The
 * id is Google's `_` + base32hex(iCalUID) (series-split.ts); the same iCalUID again updates it.
 */
export function importEvent(ctx: ApiContext, cal: CalendarState): Reply {
  requireWriter(ctx, cal);
  const uid = ctx.body.iCalUID;
  if (typeof uid !== 'string' || uid === '') throw errors.required('Missing iCalUID.');
  if (ctx.body.eventType !== undefined && ctx.body.eventType !== 'default')
    throw errors.invalid('Only events of type default can be imported.');
  const id = importedId(uid);
  const existing = cal.events.get(id);
  if (existing && !existing.deleted) return writeEvent(ctx, cal, id, 'update');
  if (existing) cal.events.delete(id);
  return insertEvent(ctx, cal, { id });
}

/** PUT (replace) and PATCH (merge) of an event, a stored exception or a not-yet-modified instance. */
export function writeEvent(
  ctx: ApiContext,
  cal: CalendarState,
  eventId: string,
  mode: 'update' | 'patch',
): Reply {
  requireWriter(ctx, cal);
  const found = resolveEvent(cal, eventId);
  if (!found) throw errors.notFound();
  const incoming = stripServerFields(ctx.body);
  let stored: StoredEvent;
  let master: StoredEvent | undefined;
  if (found.kind === 'virtual') {
    // First edit of one instance creates an exception `<masterId>_<key>`.
    master = found.master;
    checkIfMatch(ctx, master.resource);
    const base = virtualInstance(master.resource, found.occ);
    stored = { resource: base, changeSeq: 0, deleted: false };
  } else {
    stored = found.ev;
    checkIfMatch(ctx, stored.resource);
    if (stored.resource.recurringEventId) master = cal.events.get(stored.resource.recurringEventId);
    const wantsAlive = incoming.status === 'confirmed' || incoming.status === 'tentative';
    if (stored.deleted && !wantsAlive) throw errors.deleted();
  }
  const before = stored.resource;
  const keep: EventResource = {
    kind: before.kind,
    etag: before.etag,
    id: before.id,
    htmlLink: before.htmlLink,
    created: before.created,
    updated: before.updated,
    creator: before.creator,
    organizer: before.organizer,
    iCalUID: before.iCalUID,
    recurringEventId: before.recurringEventId,
    originalStartTime: before.originalStartTime,
  };
  let next: EventResource;
  if (mode === 'patch') {
    next = merge(clone(before) as Record<string, unknown>, incoming) as EventResource;
    Object.assign(next, keep);
  } else {
    next = { ...incoming, ...keep } as EventResource;
    next.status = (incoming.status as string | undefined) ?? 'confirmed';
    next.reminders = next.reminders ?? { useDefault: true };
    next.eventType = next.eventType ?? before.eventType ?? 'default';
  }
  for (const k of Object.keys(next)) if (next[k] === undefined) delete next[k];
  if (next.recurringEventId) delete next.recurrence;
  const cancelling = next.status === 'cancelled';
  if (!cancelling || !next.recurringEventId) validateEvent(next);
  // sequence: a lower value than the stored one is refused; time changes bump it.
  const prevSeq = typeof before.sequence === 'number' ? before.sequence : 0;
  if (typeof incoming.sequence === 'number' && incoming.sequence < prevSeq) {
    throw errors.invalid(
      'Invalid sequence value. The specified sequence number is below the current sequence number of the resource.',
    );
  }
  next.sequence = Math.max(prevSeq, typeof incoming.sequence === 'number' ? incoming.sequence : 0);
  if (timesChanged(before, next) && found.kind === 'stored') next.sequence = prevSeq + 1;
  if (found.kind === 'virtual' && timesChanged(before, next)) next.sequence = prevSeq + 1;
  if (found.kind === 'stored') ctx.store.beginWrite(cal, stored);
  stored.resource = ordered(next);
  if (found.kind === 'virtual') cal.events.set(stored.resource.id!, stored);

  if (cancelling && !next.recurringEventId) {
    // Patching status to cancelled on a single event or master is a delete.
    deleteStored(ctx, cal, stored);
  } else {
    stored.deleted = false;
    ctx.store.touch(cal, stored);
    if (master && !master.deleted) ctx.store.touch(cal, master);
    if (isMaster(stored.resource) || isMaster(before))
      reconcileExceptions(ctx, cal, stored, before);
  }
  ctx.store.changed(cal);
  const view = viewOptions(ctx, cal);
  if (stored.deleted || isCancelledException(stored))
    return { status: 200, body: render(stored, view) };
  return { status: 200, body: render(stored, { ...maxAttendees(ctx), ...view }) };
}

/**
 * After a master changed: exceptions whose original start is no longer an occurrence (e.g. the
 * RRULE got an UNTIL — "this and following") are deleted and announced id-only, the rest are
 * re-sent with the master (compass recurring__delete__this-and-following-2 / edit__this-and-following-2).
 */
function reconcileExceptions(
  ctx: ApiContext,
  cal: CalendarState,
  master: StoredEvent,
  before: EventResource,
): void {
  if (!timesChanged(before, master.resource) && !master.deleted) return;
  for (const [key, ex] of exceptionsOf(cal, master.resource.id!)) {
    if (ex.deleted) continue;
    ctx.store.beginWrite(cal, ex);
    const still = isMaster(master.resource) ? findOccurrence(master.resource, key) : undefined;
    if (!still) {
      ex.deleted = true;
      ex.resource.status = 'cancelled';
    }
    ctx.store.touch(cal, ex);
  }
}

function deleteStored(ctx: ApiContext, cal: CalendarState, ev: StoredEvent): void {
  ctx.store.beginWrite(cal, ev);
  if (ev.resource.recurringEventId && !ev.deleted) {
    // Cancelling one instance: a cancelled exception the series keeps; the master is re-sent.
    ev.resource.status = 'cancelled';
    ctx.store.touch(cal, ev);
    const master = cal.events.get(ev.resource.recurringEventId);
    if (master && !master.deleted) ctx.store.touch(cal, master);
    return;
  }
  ev.deleted = true;
  ev.resource.status = 'cancelled';
  ctx.store.touch(cal, ev);
  if (isMaster(ev.resource)) {
    // A deleted series may be announced by its master alone (CALENDAR-API.md): exceptions go
    // away silently, without a change of their own.
    for (const ex of exceptionsOf(cal, ev.resource.id!).values()) {
      ctx.store.beginWrite(cal, ex);
      ex.deleted = true;
      ex.resource.status = 'cancelled';
    }
  }
}

export function deleteEvent(ctx: ApiContext, cal: CalendarState, eventId: string): Reply {
  requireWriter(ctx, cal);
  const found = resolveEvent(cal, eventId);
  if (!found) throw errors.notFound();
  if (found.kind === 'virtual') {
    checkIfMatch(ctx, found.master.resource);
    const base = virtualInstance(found.master.resource, found.occ);
    const ex: StoredEvent = { resource: base, changeSeq: 0, deleted: false };
    cal.events.set(base.id!, ex);
    deleteStored(ctx, cal, ex);
  } else {
    const ev = found.ev;
    if (ev.deleted || isCancelledException(ev)) throw errors.deleted();
    checkIfMatch(ctx, ev.resource);
    deleteStored(ctx, cal, ev);
  }
  ctx.store.changed(cal);
  return { status: 204 };
}
