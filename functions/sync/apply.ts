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

/**
 * Plans one page. Order inside a delta is unspecified: an exception may precede its master, a
 * tombstone may precede its master's cancellation (the cascade removes it), so each decision
 * depends only on the item, what is stored, and the masters cancelled so far in this sync.
 */
export function planPage(
  items: readonly GoogleEvent[],
  stored: ReadonlyMap<string, StoredEventState>,
  ctx: ApplyContext,
): PagePlan {
  const ops = new Map<string, EventOp>();
  /** What the mirror will hold after the ops planned so far (a repeated id sees its predecessor). */
  const view = new Map<string, StoredEventState | undefined>();
  const cascade: string[] = [];
  let skipped = 0;
  let invalid = 0;

  const current = (docId: string) => (view.has(docId) ? view.get(docId) : stored.get(docId));

  for (const item of items) {
    if (!item.id) {
      invalid++;
      continue;
    }
    const docId = encodeDocId(item.id);
    const have = current(docId);

    if (item.status === 'cancelled') {
      const master = item.recurringEventId;
      const tombstone = !!master && !!item.originalStartTime && !ctx.cancelledMasters.has(master);
      if (tombstone) {
        if (have && compareVersions(item, have) <= 0) {
          skipped++;
          continue;
        }
        const times = eventTimes(item, ctx.timeZone);
        ops.set(docId, { type: 'set', docId, event: item, ...times });
        view.set(docId, stateOf(item, times));
        continue;
      }
      // A deletion: an older stored copy or none at all is removed; a newer one (restored
      // event written by a later sync) is kept.
      if (have && compareVersions(item, have) < 0) {
        skipped++;
        continue;
      }
      if (!isInstanceId(item.id) && !ctx.cancelledMasters.has(item.id)) {
        // Possibly a series master: Google may announce only the master of a deleted series.
        ctx.cancelledMasters.add(item.id);
        cascade.push(item.id);
      }
      if (have) {
        ops.set(docId, { type: 'delete', docId });
      } else {
        ops.delete(docId);
      }
      view.set(docId, undefined);
      continue;
    }

    const times = eventTimes(item, ctx.timeZone);
    if (have) {
      const order = compareVersions(item, have);
      if (
        order < 0 ||
        (order === 0 && have.startAt === times.startAt && have.endAt === times.endAt)
      ) {
        skipped++;
        continue;
      }
    }
    ops.set(docId, { type: 'set', docId, event: item, ...times });
    view.set(docId, stateOf(item, times));
  }
  return { ops: [...ops.values()], cascadeMasters: cascade, skipped, invalid };
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
