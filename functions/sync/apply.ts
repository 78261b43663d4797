// Pure decisions for applying Google items to the mirror: upsert, tombstone, delete, cascade, or skip.
import type { GoogleEvent } from '../calendar/api.js';
import type { EventOp, StoredEventState } from '../store/events.js';
import { encodeDocId } from '../store/schema.js';
import { eventTimes } from '../time/event-times.js';

export interface PagePlan {
  ops: EventOp[];
  /** Masters cancelled in this page: their stored exceptions and tombstones must go too. */
  cascadeMasters: string[];
  /** Items left alone: unchanged (same etag) or older than the stored copy. */
  skipped: number;
  /** Items without an id (never seen from Google; ignored). */
  invalid: number;
  /** Items the planner could not handle (quarantined by the caller as stubs). */
  unhandled: { item: GoogleEvent; docId: string; reason: string }[];
}

export interface ApplyContext {
  timeZone: string;
  /** Master ids cancelled earlier in this sync (mutated: grows as masters are cancelled). */
  cancelledMasters: Set<string>;
}

/** `<masterId>_<YYYYMMDD>` or `<masterId>_<YYYYMMDDTHHMMSSZ>`: the id of one instance of a series. */
const INSTANCE_ID = /_\d{8}(T\d{6}Z?)?$/;

export function isInstanceId(id: string): boolean {
  return INSTANCE_ID.test(id);
}

function etagNumber(etag: string | undefined | null): bigint | undefined {
  const m = /^"?(\d{1,30})"?$/.exec(etag ?? '');
  return m ? BigInt(m[1]!) : undefined;
}

/**
 * -1 when `incoming` is older than `stored`, 0 when it is the same version, 1 when newer (or
 * undecidable: writing is then the safe side). `updated` first, then etag (Google's etags are
 * increasing decimal strings).
 */
export function compareVersions(
  incoming: { updated?: string | null; etag?: string | null },
  stored: { updated?: string | undefined; etag?: string | undefined },
): -1 | 0 | 1 {
  const a = incoming.updated ? Date.parse(incoming.updated) : NaN;
  const b = stored.updated ? Date.parse(stored.updated) : NaN;
  if (!Number.isNaN(a) && !Number.isNaN(b) && a !== b) return a < b ? -1 : 1;
  if (incoming.etag && stored.etag && incoming.etag === stored.etag) return 0;
  const ea = etagNumber(incoming.etag);
  const eb = etagNumber(stored.etag);
  if (ea !== undefined && eb !== undefined && ea !== eb) return ea < eb ? -1 : 1;
  return 1;
}

/** What one item does to the mirror, decided on the state planned so far. */
type Decision =
  | { kind: 'skip' }
  | { kind: 'set'; op: Extract<EventOp, { type: 'set' }> }
  | { kind: 'delete'; cascade: boolean };

/**
 * Plans one page. Order inside a delta is unspecified: an exception may precede its master, a
 * tombstone may precede its master's cancellation (the cascade removes it), and paging over live
 * data can return an id twice or an older version after a newer one — so each decision depends
 * only on the item, what is stored (or planned earlier in this page), and the masters cancelled
 * so far in this sync. An item the code cannot handle is quarantined, never a stall.
 */
export function planPage(
  items: readonly GoogleEvent[],
  stored: ReadonlyMap<string, StoredEventState>,
  ctx: ApplyContext,
): PagePlan {
  const ops = new Map<string, EventOp>();
  /** What the mirror will hold after the ops planned so far (a repeated id sees its predecessor). */
  const view = new Map<string, StoredEventState | undefined>();
  const plan: PagePlan = { ops: [], cascadeMasters: [], skipped: 0, invalid: 0, unhandled: [] };
  const current = (docId: string) => (view.has(docId) ? view.get(docId) : stored.get(docId));

  for (const item of items) {
    if (!item.id) {
      plan.invalid++;
      continue;
    }
    const docId = encodeDocId(item.id);
    let decision: Decision;
    try {
      decision = decide(item, docId, current(docId), ctx);
    } catch (err) {
      plan.unhandled.push({
        item,
        docId,
        reason: err instanceof Error ? err.message : String(err),
      });
      continue;
    }
    if (decision.kind === 'skip') {
      plan.skipped++;
    } else if (decision.kind === 'set') {
      ops.set(docId, decision.op);
      view.set(docId, stateOf(item, decision.op));
    } else {
      if (decision.cascade) plan.cascadeMasters.push(item.id);
      if (current(docId)) ops.set(docId, { type: 'delete', docId });
      else ops.delete(docId);
      view.set(docId, undefined);
    }
  }
  plan.ops = [...ops.values()];
  return plan;
}

function decide(
  item: GoogleEvent,
  docId: string,
  have: StoredEventState | undefined,
  ctx: ApplyContext,
): Decision {
  if (item.status === 'cancelled') return decideCancelled(item, docId, have, ctx);
  const times = eventTimes(item, ctx.timeZone);
  if (have) {
    const order = compareVersions(item, have);
    if (
      order < 0 ||
      (order === 0 && have.startAt === times.startAt && have.endAt === times.endAt)
    ) {
      return { kind: 'skip' };
    }
  }
  return { kind: 'set', op: { type: 'set', docId, event: item, ...times } };
}

function decideCancelled(
  item: GoogleEvent,
  docId: string,
  have: StoredEventState | undefined,
  ctx: ApplyContext,
): Decision {
  const id = item.id!;
  const master = item.recurringEventId;
  if (master && item.originalStartTime && !ctx.cancelledMasters.has(master)) {
    // A cancelled occurrence of a live series: kept as a tombstone.
    if (have && compareVersions(item, have) <= 0) return { kind: 'skip' };
    return {
      kind: 'set',
      op: { type: 'set', docId, event: item, ...eventTimes(item, ctx.timeZone) },
    };
  }
  // A deletion: an older stored copy or none at all is removed; a newer one (restored event
  // written by a later sync) is kept.
  if (have && compareVersions(item, have) < 0) return { kind: 'skip' };
  // Possibly a series master: Google may announce only the master of a deleted series.
  const cascade = !isInstanceId(id) && !ctx.cancelledMasters.has(id);
  if (cascade) ctx.cancelledMasters.add(id);
  return { kind: 'delete', cascade };
}

function stateOf(
  item: GoogleEvent,
  times: { startAt: number | undefined; endAt: number | undefined },
): StoredEventState {
  return {
    etag: item.etag ?? undefined,
    updated: item.updated ?? undefined,
    status: item.status ?? undefined,
    ...times,
  };
}
