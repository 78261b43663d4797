// events.list (full and incremental with syncToken) and events.instances.
// Rules: ../shared/docs/CALENDAR-API.md "events.list"; parameters as in the v3 discovery document;
// https://developers.google.com/calendar/api/v3/reference/events/list and guides/sync.
import type { ApiContext } from './context.js';
import { apiError, errors } from './errors.js';
import {
  cancelledInstance,
  exceptionsOf,
  expand,
  idOnly,
  isCancelledException,
  isMaster,
  render,
  virtualInstance,
  type RenderOptions,
} from './event-model.js';
import { viewOptions } from './events.js';
import type { Reply } from './http.js';
import {
  decodePageToken,
  encodePageToken,
  liveKeys,
  pageSize,
  paginate,
  type Candidate,
  type PageState,
} from './paging.js';
import { hash32 } from './random.js';
import { MAX_INSTANCES_PER_SERIES } from './recurrence.js';
import type { CalendarState, EventResource, StoredEvent } from './types.js';
import { parseDate, parseDateTime } from './tz.js';

/** Not allowed together with syncToken (events.list reference, "syncToken"). */
const FORBIDDEN_WITH_SYNC = [
  'iCalUID',
  'orderBy',
  'privateExtendedProperty',
  'q',
  'sharedExtendedProperty',
  'timeMin',
  'timeMax',
  'updatedMin',
];

interface SyncState {
  cal: string;
  epoch: number;
  seq: number;
  /** Simulated-clock ms when the token was issued (syncTokenLifetimeSeconds). */
  at: number;
  /** singleEvents/showDeleted/eventTypes/showHiddenInvitations of the full sync. */
  sfp: string;
}

interface ListParams {
  singleEvents: boolean;
  showDeleted: boolean;
  orderBy?: 'startTime' | 'updated';
  timeMin?: number;
  timeMax?: number;
  updatedMin?: number;
  q?: string;
  iCalUID?: string;
  privateProps: [string, string][];
  sharedProps: [string, string][];
  eventTypes: string[];
  render: RenderOptions;
}

function parseTime(ctx: ApiContext, name: string): number | undefined {
  const v = ctx.query.str(name);
  if (v === undefined) return undefined;
  // "Must be an RFC3339 timestamp with mandatory time zone offset" (events.list reference).
  const ms = parseDateTime(v);
  if (ms === undefined) throw errors.invalidParam(name);
  return ms;
}

function parseProps(ctx: ApiContext, name: string): [string, string][] {
  return ctx.query.all(name).map((p) => {
    const i = p.indexOf('=');
    if (i <= 0) throw errors.invalidParam(name);
    return [p.slice(0, i), p.slice(i + 1)];
  });
}

function readParams(ctx: ApiContext): ListParams {
  const orderBy = ctx.query.str('orderBy');
  if (orderBy !== undefined && orderBy !== 'startTime' && orderBy !== 'updated')
    throw errors.invalidParam('orderBy');
  const singleEvents = ctx.query.bool('singleEvents');
  if (orderBy === 'startTime' && !singleEvents) {
    throw errors.badRequest('The requested ordering is not available for the particular query.');
  }
  const timeMin = parseTime(ctx, 'timeMin');
  const timeMax = parseTime(ctx, 'timeMax');
  if (timeMin !== undefined && timeMax !== undefined && timeMax <= timeMin) {
    throw apiError(400, 'timeRangeEmpty', 'The specified time range is empty.', {
      locationType: 'parameter',
      location: 'timeMax',
    });
  }
  const maxAttendees = ctx.query.int('maxAttendees');
  if (maxAttendees !== undefined && maxAttendees < 1) throw errors.invalidParam('maxAttendees');
  return {
    singleEvents,
    showDeleted: ctx.query.bool('showDeleted'),
    orderBy,
    timeMin,
    timeMax,
    updatedMin: parseTime(ctx, 'updatedMin'),
    q: ctx.query.str('q'),
    iCalUID: ctx.query.str('iCalUID'),
    privateProps: parseProps(ctx, 'privateExtendedProperty'),
    sharedProps: parseProps(ctx, 'sharedExtendedProperty'),
    eventTypes: ctx.query
      .all('eventTypes')
      .flatMap((s) => s.split(','))
      .filter(Boolean)
      .sort(),
    render: maxAttendees === undefined ? {} : { maxAttendees },
  };
}

function boundsOf(r: EventResource): { s: number; e: number } {
  const conv = (dt: EventResource['start']): number => {
    if (!dt) return 0;
    if (dt.dateTime) return parseDateTime(dt.dateTime) ?? 0;
    const d = dt.date ? parseDate(dt.date) : undefined;
    return d ? Date.UTC(d.year, d.month - 1, d.day) : 0;
  };
  return { s: conv(r.start), e: conv(r.end) };
}

function matchesFilters(r: EventResource, p: ListParams): boolean {
  if (p.q) {
    // Free-text search matches whole words (summary, description, location, attendees).
    const text = [r.summary, r.description, r.location, JSON.stringify(r.attendees ?? [])].join(
      ' ',
    );
    const words = new Set(text.toLowerCase().split(/[^\p{L}\p{N}@.]+/u));
    const wanted = p.q.toLowerCase().split(/\s+/).filter(Boolean);
    if (!wanted.every((w) => words.has(w))) return false;
  }
  if (p.iCalUID !== undefined && r.iCalUID !== p.iCalUID) return false;
  for (const [k, v] of p.privateProps) if (r.extendedProperties?.private?.[k] !== v) return false;
  for (const [k, v] of p.sharedProps) if (r.extendedProperties?.shared?.[k] !== v) return false;
  if (p.eventTypes.length > 0 && !p.eventTypes.includes(r.eventType ?? 'default')) return false;
  return true;
}

function inWindow(s: number, e: number, p: ListParams): boolean {
  // timeMin bounds the END of an event, timeMax its START (events.list reference).
  if (p.timeMin !== undefined && e <= p.timeMin) return false;
  if (p.timeMax !== undefined && s >= p.timeMax) return false;
  return true;
}

function updatedMs(r: EventResource): number {
  return r.updated ? Date.parse(r.updated) : 0;
}

/** Everything the query could list, each with the sequence of its last change. */
function candidates(
  ctx: ApiContext,
  cal: CalendarState,
  p: ListParams,
  incremental: boolean,
): Candidate[] {
  const seed = ctx.settings.seed;
  const out: Candidate[] = [];
  const keyFor = (id: string, r: EventResource | undefined): string => {
    if (p.orderBy === 'startTime' && r)
      return `${String(boundsOf(r).s + 1e14).padStart(16, '0')}|${id}`;
    if (p.orderBy === 'updated' && r) return `${String(updatedMs(r)).padStart(16, '0')}|${id}`;
    // No orderBy: unspecified but stable order — a seeded hash, so an exception may precede its master.
    return `${hash32(id, seed).toString(16).padStart(8, '0')}|${id}`;
  };
  // Deleted items: always in incremental results; in full ones with showDeleted or updatedMin.
  const wantDeleted = incremental || p.showDeleted || p.updatedMin !== undefined;
  const passUpdated = (r: EventResource): boolean =>
    p.updatedMin === undefined || updatedMs(r) >= p.updatedMin;

  for (const ev of cal.events.values()) {
    const r = ev.resource;
    const id = r.id!;
    if (ev.deleted) {
      // In singleEvents mode, exceptions of a deleted series disappear with their master.
      if (wantDeleted && passUpdated(r))
        out.push({ key: keyFor(id, r), seq: ev.changeSeq, render: () => idOnly(r) });
      continue;
    }
    if (r.recurringEventId) {
      if (p.singleEvents) continue; // handled with its master below
      if (isCancelledException(ev)) {
        // Full lists with singleEvents=false keep cancelled exceptions of live series.
        if (!passUpdated(r)) continue;
        if (!incremental && r.originalStartTime) {
          const b = boundsOf({ start: r.originalStartTime, end: r.originalStartTime });
          if (!inWindow(b.s, b.s + 1, p)) continue;
        }
        out.push({
          key: keyFor(id, r),
          seq: ev.changeSeq,
          render: () => cancelledInstance(r, p.render),
        });
        continue;
      }
    }
    if (!incremental && (!matchesFilters(r, p) || !passUpdated(r))) continue;
    if (isMaster(r) && p.singleEvents) {
      out.push(...instancesOf(cal, ev, p, incremental, keyFor));
      continue;
    }
    if (!incremental) {
      if (isMaster(r)) {
        // A series is listed when any occurrence overlaps the window (expand only if there is one).
        const hasWindow = p.timeMin !== undefined || p.timeMax !== undefined;
        const occ = hasWindow ? expand(r, p.timeMax, 1, p.timeMin) : [];
        const b = boundsOf(r);
        const dur = b.e - b.s;
        if (hasWindow && !occ.some((o) => inWindow(o.startMs, o.startMs + dur, p))) continue;
      } else {
        const b = boundsOf(r);
        if (!inWindow(b.s, b.e, p)) continue;
      }
    }
    out.push({ key: keyFor(id, r), seq: ev.changeSeq, render: () => render(ev, p.render) });
  }
  return out;
}

/** Instances of one live series for singleEvents=true: exceptions in place, cancelled ones out. */
function instancesOf(
  cal: CalendarState,
  master: StoredEvent,
  p: ListParams,
  incremental: boolean,
  keyFor: (id: string, r: EventResource | undefined) => string,
): Candidate[] {
  const out: Candidate[] = [];
  const exc = exceptionsOf(cal, master.resource.id!);
  const occs = expand(
    master.resource,
    incremental ? undefined : p.timeMax,
    MAX_INSTANCES_PER_SERIES,
    incremental ? undefined : p.timeMin,
  );
  for (const occ of occs) {
    const ex = exc.get(occ.key);
    exc.delete(occ.key);
    const seq = Math.max(master.changeSeq, ex?.changeSeq ?? 0);
    if (ex && !ex.deleted) {
      const cancelled = isCancelledException(ex);
      if (cancelled && !incremental && !p.showDeleted) continue;
      const b = cancelled ? { s: occ.startMs, e: occ.endMs } : boundsOf(ex.resource);
      if (!incremental && !inWindow(b.s, b.e, p)) continue;
      if (!incremental && !cancelled && !matchesFilters(ex.resource, p)) continue;
      out.push({
        key: keyFor(ex.resource.id!, ex.resource),
        seq,
        render: () => render(ex, p.render),
      });
      continue;
    }
    if (!incremental && !inWindow(occ.startMs, occ.endMs, p)) continue;
    const inst = virtualInstance(master.resource, occ, p.render);
    out.push({
      key: keyFor(inst.id!, inst),
      seq,
      render: () => virtualInstance(master.resource, occ, p.render),
    });
  }
  // Exceptions moved outside the expansion bound (still live) are listed as themselves.
  for (const ex of exc.values()) {
    if (ex.deleted || isCancelledException(ex)) continue;
    const b = boundsOf(ex.resource);
    if (!incremental && !inWindow(b.s, b.e, p)) continue;
    out.push({
      key: keyFor(ex.resource.id!, ex.resource),
      seq: Math.max(master.changeSeq, ex.changeSeq),
      render: () => render(ex, p.render),
    });
  }
  return out;
}

/**
 * Tokens live syncTokenLifetimeSeconds (simulated clock) when set: the sync guide says "sync
 * tokens are invalidated by the server" for "token expiration" among other reasons; how long
 * they live is not documented.
 */
export function tokenExpired(ctx: ApiContext, issuedAt: number): boolean {
  const life = ctx.settings.realism.syncTokenLifetimeSeconds;
  return life > 0 && ctx.store.clock.now() - issuedAt >= life * 1000;
}

/**
 * With a syncToken "it is not allowed to set showDeleted to False" (events.list reference; for
 * calendarList also showHidden). What Google answers is not documented: the hardest plausible
 * answer, 400 invalid on the parameter, when the realism knob asks for it.
 */
export function rejectShowDeletedFalse(ctx: ApiContext, names: string[]): void {
  if (!ctx.settings.realism.rejectShowDeletedFalseWithSyncToken) return;
  for (const name of names) {
    if (ctx.query.str(name) === 'false') {
      throw errors.invalidParam(
        name,
        `The parameter ${name} cannot be set to false together with syncToken.`,
      );
    }
  }
}

function syncFingerprint(p: ListParams, ctx: ApiContext): string {
  return JSON.stringify([
    p.singleEvents,
    p.showDeleted,
    p.eventTypes,
    ctx.query.bool('showHiddenInvitations'),
  ]);
}

function queryFingerprint(ctx: ApiContext, calId: string): string {
  const pairs = [...ctx.query.params.entries()]
    .filter(
      ([k]) =>
        k !== 'pageToken' &&
        k !== 'maxResults' &&
        k !== 'alt' &&
        k !== 'prettyPrint' &&
        k !== 'fields',
    )
    .sort((a, b) => (a[0] + a[1] < b[0] + b[1] ? -1 : 1));
  return `${calId}|${JSON.stringify(pairs)}`;
}

function envelope(cal: CalendarState, ctx: ApiContext): Record<string, unknown> {
  return {
    kind: 'calendar#events',
    etag: `"p3${hash32(cal.etag + cal.id).toString(32)}g8o0o"`,
    summary: cal.summary,
    description: cal.description,
    updated: new Date(cal.updatedMs).toISOString(),
    timeZone: ctx.query.str('timeZone') ?? cal.timeZone,
    accessRole: ctx.user.calendarList.get(cal.id)?.accessRole ?? 'owner',
    defaultReminders: cal.owner === ctx.user.email ? [{ method: 'popup', minutes: 30 }] : [],
  };
}

export function listEvents(ctx: ApiContext, cal: CalendarState): Reply {
  // Listings see only what is listable by now (visibility lag, store.ts): publish first, so the
  // sequence numbers below (snapshots, tokens) include every change that became listable.
  const view = ctx.store.visibleView(cal);
  const syncToken = ctx.query.str('syncToken');
  if (syncToken !== undefined) {
    for (const name of FORBIDDEN_WITH_SYNC) {
      if (ctx.query.has(name)) {
        // Wording not documented by Google; the status (400) and parameter are.
        throw errors.invalidParam(
          name,
          `The parameter ${name} cannot be used together with syncToken.`,
        );
      }
    }
  }
  if (syncToken !== undefined) rejectShowDeletedFalse(ctx, ['showDeleted']);
  const p = readParams(ctx);
  p.render = { ...p.render, ...viewOptions(ctx, cal) };
  const size = pageSize(ctx);
  const fp = queryFingerprint(ctx, cal.id);
  let state = decodePageToken(ctx, fp);
  const sfp = syncFingerprint(p, ctx);
  let since = -1;
  if (syncToken !== undefined) {
    const st = ctx.tokens.decode<SyncState>('sync', syncToken);
    if (!st || st.cal !== cal.id || st.sfp !== sfp) throw errors.invalidSyncToken();
    if (st.epoch !== cal.epoch || st.seq > cal.seq || tokenExpired(ctx, st.at))
      throw errors.fullSyncRequired();
    since = st.seq;
  }
  if (state && state.epoch !== cal.epoch && syncToken !== undefined)
    throw errors.fullSyncRequired();
  state ??= { fp, snap: cal.seq, since, epoch: cal.epoch, after: null, n: 0 };
  const cands = candidates(ctx, view, p, syncToken !== undefined);
  if (ctx.settings.realism.livePaging && p.orderBy === undefined) liveKeys(cands);
  const page = paginate(ctx, cands, state, size);
  const body = envelope(cal, ctx);
  if (page.next) body.nextPageToken = encodePageToken(ctx, page.next);
  else {
    const st: SyncState = {
      cal: cal.id,
      epoch: cal.epoch,
      seq: state.snap,
      sfp,
      at: ctx.store.clock.now(),
    };
    body.nextSyncToken = ctx.tokens.encode('sync', st);
  }
  body.items = page.items;
  return { status: 200, body };
}

export function listInstances(ctx: ApiContext, cal: CalendarState, eventId: string): Reply {
  const view = ctx.store.visibleView(cal);
  const master = view.events.get(eventId);
  if (!master) throw errors.notFound();
  if (master.deleted) throw errors.deleted();
  if (!isMaster(master.resource)) throw errors.badRequest('The event is not a recurring event.');
  const p = readParams(ctx);
  p.render = { ...p.render, ...viewOptions(ctx, cal) };
  const originalStart = ctx.query.str('originalStart');
  const size = pageSize(ctx);
  const fp = `inst|${queryFingerprint(ctx, cal.id)}|${eventId}`;
  const keyFor = (id: string, r: EventResource | undefined): string =>
    `${String(boundsOf(r ?? {}).s + 1e14).padStart(16, '0')}|${id}`;
  let cands = instancesOf(view, master, { ...p, singleEvents: true }, false, keyFor);
  if (originalStart !== undefined) {
    const ms = parseDateTime(originalStart);
    cands = cands.filter((c) => {
      const r = c.render() as EventResource;
      return r.originalStartTime?.dateTime && parseDateTime(r.originalStartTime.dateTime) === ms;
    });
  }
  const state: PageState = decodePageToken(ctx, fp) ?? {
    fp,
    snap: Number.MAX_SAFE_INTEGER,
    since: -1,
    epoch: cal.epoch,
    after: null,
    n: 0,
  };
  const page = paginate(ctx, cands, state, size);
  const body = envelope(cal, ctx);
  if (page.next) body.nextPageToken = encodePageToken(ctx, page.next);
  body.items = page.items;
  return { status: 200, body };
}
