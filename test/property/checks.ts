// The end-of-history checks: mirror == Google for every calendar Google still serves (events, instants, tombstones, quarantine, occurrences, change feed), and every other calendar says why and when it is retried.
import { Timestamp, type Firestore } from '@google-cloud/firestore';
import type { calendar_v3 } from '@googleapis/calendar';
import { paths } from '../../functions/store/schema.js';
import type { ChannelInfo } from '../simulator/client.js';
import type { HistoryCalendar } from './calendar-ops.js';
import type { PermanentKind } from './history.js';
import type { FeedEntry } from './intercept.js';
import {
  exceedsFirestore,
  googleEvents,
  googleOccurrences,
  googleTimeZone,
  instantOf,
} from './oracle.js';

export type DivergenceKind =
  | 'missing'
  | 'extra'
  | 'etag'
  | 'times'
  | 'quarantine'
  | 'occurrence'
  | 'feed'
  | 'status'
  | 'channel'
  | 'counts'
  | 'removed';

export interface Divergence {
  calendar: string;
  kind: DivergenceKind;
  detail: string;
}

/** What the mirror holds for one event document. */
export interface MirrorEvent {
  id: string;
  etag: string | undefined;
  status: string | undefined;
  updated: string | undefined;
  startAt: number | null;
  endAt: number | null;
  quarantined: boolean;
}

const ms = (v: unknown): number | null => (v instanceof Timestamp ? v.toMillis() : null);
const decode = (docId: string) =>
  docId.startsWith('~') ? Buffer.from(docId.slice(1), 'base64url').toString('utf8') : docId;
const when = (t: number | null) => (t === null ? 'null' : new Date(t).toISOString());

export async function mirrorEvents(
  db: Firestore,
  uid: string,
  calendarId: string,
): Promise<Map<string, MirrorEvent>> {
  const snap = await db.collection(paths.events(uid, calendarId)).get();
  const out = new Map<string, MirrorEvent>();
  for (const d of snap.docs) {
    const x = d.data();
    const id = typeof x.id === 'string' ? x.id : decode(d.id);
    const calsync = x.calsync as { quarantine?: unknown } | undefined;
    out.set(id, {
      id,
      etag: typeof x.etag === 'string' ? x.etag : undefined,
      status: typeof x.status === 'string' ? x.status : undefined,
      updated: typeof x.updated === 'string' ? x.updated : undefined,
      startAt: ms(x.startAt),
      endAt: ms(x.endAt),
      quarantined: !!calsync?.quarantine,
    });
  }
  return out;
}

export const isLive = (e: { status?: string | null | undefined }) => e.status !== 'cancelled';

export interface CheckInput {
  db: Firestore;
  cal: calendar_v3.Calendar;
  uid: string;
  calendars: HistoryCalendar[];
  /** World clock now. */
  now: number;
  /** The occurrence window the last scheduled run left. */
  window: { start: number; end: number };
  channels: ChannelInfo[];
  feed: FeedEntry[];
  /** The mirror right after connect (the change feed's starting point). */
  baseline: Map<string, Map<string, MirrorEvent>>;
  /** Calendars whose permanent error Google really answered calsync with (its log check hit). */
  refused: ReadonlySet<string>;
}

export async function checkHistory(
  input: CheckInput,
): Promise<{ divergences: Divergence[]; events: number }> {
  const out: Divergence[] = [];
  let events = 0;
  for (const c of input.calendars) {
    const found = (kind: DivergenceKind, detail: string) =>
      out.push({ calendar: c.id, kind, detail });
    const sub = c.subscriptionId
      ? (await input.db.doc(paths.subscription(c.subscriptionId)).get()).data()
      : undefined;
    const calDoc = (await input.db.doc(paths.calendar(input.uid, c.id)).get()).data();
    const mirror = await mirrorEvents(input.db, input.uid, c.id);
    if (!sub || !calDoc) {
      found('status', `no subscription or calendar document (${c.subscriptionId ?? 'none'})`);
      continue;
    }
    if (c.gone) {
      checkRemoved(c, sub, calDoc, mirror, found);
      const occ = await input.db.collection(paths.occurrences(input.uid, c.id)).limit(1).get();
      if (!occ.empty) found('removed', 'occurrences of a removed calendar are still stored');
      continue;
    }
    checkFeed(input.baseline.get(c.id) ?? new Map(), feedOf(input.feed, c.id), mirror, found);
    if (c.permanent?.lift === 'never') {
      // calsync learns of a refusal only by asking: a calendar nothing called since Google began
      // refusing it (nothing changed on it, no renewal due) stays as it was — the safety net asks
      // within its period (seed 6287 of the soak expected `error` there).
      if (input.refused.has(c.id)) checkStalled(sub, calDoc, input.now, c.permanent.kind, found);
      else if (sub.status !== 'active')
        found(
          'status',
          `refused but never asked since: subscription ${String(sub.status)} (want active)`,
        );
      continue;
    }
    events += await checkServed(input, c, sub, calDoc, mirror, found);
  }
  return { divergences: out, events };
}

type Found = (kind: DivergenceKind, detail: string) => void;
type Doc = Record<string, unknown>;

function syncOf(calDoc: Doc): Doc {
  return (calDoc.sync as Doc | undefined) ?? {};
}

function checkRemoved(
  c: HistoryCalendar,
  sub: Doc,
  calDoc: Doc,
  mirror: Map<string, MirrorEvent>,
  found: Found,
): void {
  if (sub.status !== 'removed')
    found('removed', `deleted at Google, subscription is ${String(sub.status)}`);
  if (syncOf(calDoc).status !== 'removed') {
    found('removed', `deleted at Google, calendar document says ${String(syncOf(calDoc).status)}`);
  }
  if (mirror.size > 0)
    found('removed', `${mirror.size} events of a removed calendar are still stored`);
  void c;
}

/**
 * A calendar Google keeps refusing: it must say why, and when it is tried again — or, for a grant
 * without the calendar scope, that it waits for a person (`needs_reauth`, README status machine).
 */
function checkStalled(sub: Doc, calDoc: Doc, now: number, kind: PermanentKind, found: Found): void {
  const sync = syncOf(calDoc);
  const lastError = sync.lastError as { code?: unknown; reason?: unknown } | null | undefined;
  const says =
    !!lastError && typeof lastError.code === 'string' && typeof lastError.reason === 'string';
  if (kind === 'insufficientPermissions' && sub.status === 'needs_reauth') {
    if (sync.status !== 'needs_reauth')
      found('status', `subscription needs_reauth, calendar ${String(sync.status)}`);
    if (!says) found('status', 'needs_reauth without sync.lastError {code, reason}');
    return;
  }
  if (sub.status !== 'error' || sync.status !== 'error') {
    found(
      'status',
      `permanently refused by Google: subscription ${String(sub.status)}, calendar ${String(sync.status)} (want error)`,
    );
  }
  if (!says) found('status', 'stalled calendar without sync.lastError {code, reason}');
  const next = ms(sync.nextRetryAt);
  if (next === null)
    found('status', 'stalled calendar without sync.nextRetryAt: nothing will retry it');
  else if (next <= now) found('status', `sync.nextRetryAt ${when(next)} is not in the future`);
  else if (next > now + 25 * 3_600_000)
    found('status', `sync.nextRetryAt ${when(next)} is more than 24 h away`);
}

async function checkServed(
  input: CheckInput,
  c: HistoryCalendar,
  sub: Doc,
  calDoc: Doc,
  mirror: Map<string, MirrorEvent>,
  found: Found,
): Promise<number> {
  const sync = syncOf(calDoc);
  if (sub.status !== 'active' || sync.status !== 'active') {
    found(
      'status',
      `served by Google, but subscription ${String(sub.status)} / calendar ${String(sync.status)} (lastError ${JSON.stringify(sync.lastError ?? sub.lastError ?? null)})`,
    );
  }
  if (sub.pending === true) found('status', 'a pending mark is left after quiescence');
  const lease = sub.lease as { expiresAt?: unknown } | null | undefined;
  const leaseUntil = ms(lease?.expiresAt);
  if (leaseUntil !== null && leaseUntil > input.now)
    found('status', 'a live lease is left after quiescence');
  checkChannel(c, sub, input, found);

  const zone = await googleTimeZone(input.cal, c.id);
  if (calDoc.timeZone !== zone)
    found('status', `calendar document time zone ${String(calDoc.timeZone)}, Google ${zone}`);
  const truth = await googleEvents(input.cal, c.id);
  compareEvents(truth, mirror, zone, found);
  const quarantinedDocs = [...mirror.values()].filter((e) => e.quarantined).length;
  for (const [id, e] of truth) {
    if (exceedsFirestore(e) && mirror.has(id) && !mirror.get(id)!.quarantined) {
      found('quarantine', `${id}: too big for Firestore, stored without calsync.quarantine`);
    }
  }
  if ((sync.quarantined ?? 0) !== quarantinedDocs) {
    found(
      'quarantine',
      `sync.quarantined is ${String(sync.quarantined)}, ${quarantinedDocs} documents carry the marker`,
    );
  }
  const counts = calDoc.counts as { events?: number; tombstones?: number } | undefined;
  const live = [...mirror.values()].filter(isLive).length;
  const tombstones = mirror.size - live;
  if (counts?.events !== live || (counts.tombstones ?? 0) !== tombstones) {
    found(
      'counts',
      `counts ${JSON.stringify(counts)}, mirror holds ${live} events and ${tombstones} tombstones`,
    );
  }
  await compareOccurrences(input, c.id, zone, found);
  return truth.size;
}

function checkChannel(c: HistoryCalendar, sub: Doc, input: CheckInput, found: Found): void {
  if (sub.mode !== 'push') return;
  const ch = sub.channel as { id?: string; resourceId?: string } | null | undefined;
  if (!ch?.id) {
    found('channel', 'push calendar without a stored channel');
    return;
  }
  const live = input.channels.find((x) => x.id === ch.id);
  if (!live) found('channel', `stored channel ${ch.id} is unknown to Google`);
  else if (live.stopped)
    found('channel', `stored channel ${ch.id} was stopped: no notification will come`);
  else if (live.expiration <= input.now) found('channel', `stored channel ${ch.id} has expired`);
  void c;
}

function compareEvents(
  truth: Map<string, calendar_v3.Schema$Event>,
  mirror: Map<string, MirrorEvent>,
  zone: string,
  found: Found,
): void {
  for (const [id, e] of truth) {
    const m = mirror.get(id);
    if (!m) {
      found('missing', `${id} (${e.status === 'cancelled' ? 'tombstone' : (e.summary ?? '')})`);
      continue;
    }
    if (m.etag !== e.etag) found('etag', `${id}: google ${e.etag}, mirror ${m.etag}`);
    else if (isLive(e) !== isLive(m))
      found('etag', `${id}: google ${e.status}, mirror ${m.status}`);
    if (e.status === 'cancelled') continue;
    const startAt = instantOf(e.start, zone);
    const endAt = instantOf(e.end, zone);
    if (m.startAt !== startAt || m.endAt !== endAt) {
      found(
        'times',
        `${id}: startAt/endAt ${when(m.startAt)}..${when(m.endAt)}, want ${when(startAt)}..${when(endAt)} (zone ${zone})`,
      );
    }
  }
  for (const id of mirror.keys()) if (!truth.has(id)) found('extra', id);
}

async function compareOccurrences(
  input: CheckInput,
  calendarId: string,
  zone: string,
  found: Found,
): Promise<void> {
  const want = await googleOccurrences(input.cal, calendarId, input.window, zone);
  const snap = await input.db.collection(paths.occurrences(input.uid, calendarId)).get();
  const have = new Map(snap.docs.map((d) => [decode(d.id), d.data()]));
  for (const [id, o] of want) {
    const h = have.get(id);
    if (!h) {
      found('occurrence', `missing ${id} (${when(o.startAt)})`);
      continue;
    }
    if (ms(h.startAt) !== o.startAt || ms(h.endAt) !== o.endAt) {
      found(
        'occurrence',
        `${id}: ${when(ms(h.startAt))}..${when(ms(h.endAt))}, Google expands ${when(o.startAt)}..${when(o.endAt)}`,
      );
    }
    if ((h.summary ?? null) !== o.summary) {
      found(
        'occurrence',
        `${id}: summary ${JSON.stringify(h.summary)}, Google ${JSON.stringify(o.summary)}`,
      );
    }
  }
  for (const id of have.keys()) if (!want.has(id)) found('occurrence', `extra ${id}`);
}

function feedOf(feed: FeedEntry[], calendarId: string): FeedEntry[] {
  return feed.filter((f) => f.message.calendarId === calendarId);
}

/**
 * The change feed against the mirror's own diff: folding the messages, in publish order and as
 * the README tells a consumer to (stale fences dropped), over the mirror as connect left it must
 * give the mirror as it is now — every change announced, in order, nothing that did not happen.
 */
function checkFeed(
  baseline: Map<string, MirrorEvent>,
  feed: FeedEntry[],
  mirror: Map<string, MirrorEvent>,
  found: Found,
): void {
  const state = new Map<string, { live: boolean; updated: string | undefined }>();
  for (const [id, e] of baseline) state.set(id, { live: isLive(e), updated: e.updated });
  const odd: string[] = [];
  // The consumer's rule (ChangeMessage.fence, decision 009): a message from a worker that lost its
  // lease and published late carries a fence below one already seen for the calendar — dropped.
  let highestFence = -Infinity;
  for (const { message: m, worker } of feed) {
    if (m.fence < highestFence) continue;
    highestFence = m.fence;
    const s = state.get(m.eventId) ?? { live: false, updated: undefined };
    if (m.change === 'created' && s.live)
      odd.push(`${m.eventId}: created while live (worker ${worker})`);
    if (m.change === 'updated' && !s.live)
      odd.push(`${m.eventId}: updated while not live (worker ${worker})`);
    state.set(
      m.eventId,
      m.change === 'deleted'
        ? { live: false, updated: undefined }
        : { live: true, updated: m.updated ?? undefined },
    );
  }
  for (const o of odd.slice(0, 5)) found('feed', o);
  const ids = new Set([...state.keys(), ...mirror.keys()]);
  for (const id of ids) {
    const s = state.get(id) ?? { live: false, updated: undefined };
    const m = mirror.get(id);
    const live = m ? isLive(m) : false;
    if (s.live !== live) {
      found(
        'feed',
        `${id}: the feed's last word is ${s.live ? 'live' : 'gone'}, the mirror holds it ${live ? 'live' : m ? 'as a tombstone' : 'not at all'}`,
      );
    } else if (live && s.updated !== m!.updated) {
      found(
        'feed',
        `${id}: last announced version ${s.updated ?? '(none)'}, the mirror holds ${m!.updated ?? '(none)'}`,
      );
    }
  }
}
