// calendarList.list (with sync tokens), calendarList.get and calendars.get for a user.
// Reference: https://developers.google.com/calendar/api/v3/reference/calendarList/list
import type { ApiContext } from './context.js';
import { errors } from './errors.js';
import { rejectShowDeletedFalse, tokenExpired } from './events-list.js';
import type { Reply } from './http.js';
import {
  decodePageToken,
  encodePageToken,
  liveKeys,
  pageSize,
  paginate,
  type Candidate,
} from './paging.js';
import { hash32 } from './random.js';
import type { CalendarListEntryState, CalendarState } from './types.js';

const ROLE_RANK = { freeBusyReader: 0, reader: 1, writer: 2, owner: 3 } as const;
const COLORS = [
  '#ac725e',
  '#d06b64',
  '#f83a22',
  '#fa573c',
  '#ff7537',
  '#ffad46',
  '#42d692',
  '#16a765',
];

interface ListSync {
  user: string;
  epoch: number;
  seq: number;
  sfp: string;
  at: number;
}

function entryResource(
  entry: CalendarListEntryState,
  cal: CalendarState | undefined,
): Record<string, unknown> {
  if (entry.deleted || !cal || cal.deleted) {
    return {
      kind: 'calendar#calendarListEntry',
      etag: entry.etag,
      id: entry.calendarId,
      deleted: true,
    };
  }
  const color = COLORS[Number(entry.colorId) % COLORS.length]!;
  const out: Record<string, unknown> = {
    kind: 'calendar#calendarListEntry',
    etag: entry.etag,
    id: cal.id,
    summary: cal.summary,
    timeZone: cal.timeZone,
    colorId: entry.colorId,
    backgroundColor: color,
    foregroundColor: '#000000',
    selected: true,
    accessRole: entry.accessRole,
    defaultReminders: entry.accessRole === 'owner' ? [{ method: 'popup', minutes: 30 }] : [],
    conferenceProperties: { allowedConferenceSolutionTypes: ['hangoutsMeet'] },
  };
  if (cal.description) out.description = cal.description;
  if (entry.primary) {
    out.notificationSettings = { notifications: [{ type: 'eventCancellation', method: 'email' }] };
    out.primary = true;
  }
  return out;
}

export function listCalendarList(ctx: ApiContext): Reply {
  const user = ctx.user;
  const syncToken = ctx.query.str('syncToken');
  if (syncToken !== undefined && ctx.query.has('minAccessRole')) {
    throw errors.invalidParam(
      'minAccessRole',
      'The parameter minAccessRole cannot be used together with syncToken.',
    );
  }
  if (syncToken !== undefined) rejectShowDeletedFalse(ctx, ['showDeleted', 'showHidden']);
  const minRole = ctx.query.str('minAccessRole');
  if (minRole !== undefined && !(minRole in ROLE_RANK)) throw errors.invalidParam('minAccessRole');
  const showDeleted = ctx.query.bool('showDeleted');
  const showHidden = ctx.query.bool('showHidden');
  const sfp = JSON.stringify([showDeleted, showHidden]);
  let since = -1;
  if (syncToken !== undefined) {
    const st = ctx.tokens.decode<ListSync>('listsync', syncToken);
    if (!st || st.user !== user.email || st.sfp !== sfp) throw errors.invalidSyncToken();
    if (st.epoch !== user.listEpoch || st.seq > user.listSeq || tokenExpired(ctx, st.at))
      throw errors.fullSyncRequired();
    since = st.seq;
  }
  const incremental = syncToken !== undefined;
  const size = pageSize(ctx, 100, 250);
  const fp = `calendarList|${user.email}|${JSON.stringify([...ctx.query.params.entries()].filter(([k]) => k !== 'pageToken' && k !== 'maxResults').sort())}`;
  const state = decodePageToken(ctx, fp) ?? {
    fp,
    snap: user.listSeq,
    since,
    epoch: user.listEpoch,
    after: null,
    n: 0,
  };
  const cands: Candidate[] = [];
  for (const entry of user.calendarList.values()) {
    const cal = ctx.store.calendars.get(entry.calendarId);
    const gone = entry.deleted || !cal || cal.deleted;
    if (gone && !incremental && !showDeleted) continue;
    if (!gone && entry.hidden && !showHidden && !incremental) continue;
    if (
      !gone &&
      minRole &&
      ROLE_RANK[entry.accessRole] < ROLE_RANK[minRole as keyof typeof ROLE_RANK]
    )
      continue;
    cands.push({
      key: `${hash32(entry.calendarId, ctx.settings.seed).toString(16).padStart(8, '0')}|${entry.calendarId}`,
      seq: entry.changeSeq,
      render: () => entryResource(entry, cal),
    });
  }
  if (ctx.settings.realism.livePaging) liveKeys(cands);
  const page = paginate(ctx, cands, state, size);
  const body: Record<string, unknown> = {
    kind: 'calendar#calendarList',
    etag: `"p3${hash32(`${user.email}|${user.listSeq}`).toString(32)}g8o0o"`,
  };
  if (page.next) body.nextPageToken = encodePageToken(ctx, page.next);
  else
    body.nextSyncToken = ctx.tokens.encode('listsync', {
      user: user.email,
      epoch: user.listEpoch,
      seq: state.snap,
      sfp,
      at: ctx.store.clock.now(),
    } satisfies ListSync);
  body.items = page.items;
  return { status: 200, body };
}

export function getCalendarListEntry(ctx: ApiContext, calendarId: string): Reply {
  const cal = ctx.store.calendarFor(ctx.user, calendarId);
  const entry = ctx.user.calendarList.get(cal.id)!;
  return { status: 200, body: entryResource(entry, cal) };
}

export function getCalendar(ctx: ApiContext, calendarId: string): Reply {
  const cal = ctx.store.calendarFor(ctx.user, calendarId);
  const body: Record<string, unknown> = {
    kind: 'calendar#calendar',
    etag: cal.etag,
    id: cal.id,
    summary: cal.summary,
    timeZone: cal.timeZone,
    conferenceProperties: { allowedConferenceSolutionTypes: ['hangoutsMeet'] },
  };
  if (cal.description) body.description = cal.description;
  return { status: 200, body };
}
