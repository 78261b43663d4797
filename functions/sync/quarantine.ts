// Quarantine: an event Firestore refuses (over 1 MiB, too many index entries) or the code cannot handle is stored as a flagged stub, never a stall.
import { Timestamp, type Firestore } from '@google-cloud/firestore';
import type { GoogleEvent } from '../calendar/api.js';
import type { Logger } from '../log.js';
import type { BatchQueue, QueuedWrite, RefusedHandler } from '../store/batches.js';
import { writeEventOps, type CalendarRef, type EventOp } from '../store/events.js';
import { commitFenced, FenceRevokedError, type WriteFence } from '../store/fence.js';
import { paths } from '../store/schema.js';

type SetOp = Extract<EventOp, { type: 'set' }>;

/** Firestore's limit is 1 MiB per document; above this estimate an event is trimmed before writing. */
const TRIM_ABOVE_BYTES = 1_000_000;
/** Fields a stub keeps: enough for ids, versions, times, series structure and a title. */
const STUB_FIELDS = (
  [
    ['kind', 'etag', 'id', 'status', 'htmlLink'], // identity
    ['created', 'updated', 'summary'], // versions and title
    ['start', 'end', 'endTimeUnspecified'], // times
    ['recurrence', 'recurringEventId', 'originalStartTime'], // series structure
    ['iCalUID', 'sequence', 'eventType', 'transparency'], // iCalendar identity, kind, busy
  ] satisfies (keyof GoogleEvent)[][]
).flat();
const MAX_KEPT_FIELD_BYTES = 100_000;

/** Rough size of a document as Firestore counts it (UTF-8 of the JSON is a close upper bound). */
export function estimatedBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}

/**
 * An upper bound of `estimatedBytes(value)` without serializing (a JSON string escapes a UTF-16
 * unit to at most 6 bytes): the walk stops once it passes `limit`. Most events are a few KiB, so
 * checking them against the 1 MiB limit costs no string per event.
 */
function sizeBoundWithin(value: unknown, limit: number): boolean {
  let budget = limit;
  const walk = (v: unknown): boolean => {
    if (typeof v === 'string') budget -= v.length * 6 + 2;
    else if (v === null || typeof v !== 'object') budget -= 24;
    else if (Array.isArray(v)) {
      budget -= 2;
      for (const x of v) if (!walk(x)) return false;
    } else {
      budget -= 2;
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        budget -= k.length * 6 + 4;
        if (!walk(x)) return false;
      }
    }
    return budget >= 0;
  };
  return walk(value);
}

/** The stub stored for a refused event: kept fields, the reason and what was dropped. */
export function quarantineStub(op: SetOp, reason: string, now: number): SetOp {
  const source = op.event as Record<string, unknown>;
  const kept: Record<string, unknown> = {};
  for (const field of STUB_FIELDS) {
    const value = source[field];
    if (value !== undefined && estimatedBytes(value) <= MAX_KEPT_FIELD_BYTES) kept[field] = value;
  }
  const droppedFields = Object.keys(source).filter((k) => !(k in kept));
  const quarantine = { reason, droppedFields, at: Timestamp.fromMillis(now) };
  return {
    ...op,
    event: { ...(kept as GoogleEvent), calsync: { quarantine } } as GoogleEvent,
  };
}

export interface QuarantineContext {
  db: Firestore;
  cal: CalendarRef;
  fence: WriteFence;
  now: () => number;
  logger: Logger;
}

/** Trims, before writing, events that are certainly over Firestore's document size. */
export function pretrim(ops: readonly EventOp[], ctx: QuarantineContext): EventOp[] {
  return ops.map((op) => {
    if (op.type !== 'set' || sizeBoundWithin(op.event, TRIM_ABOVE_BYTES)) return op;
    if (estimatedBytes(op.event) <= TRIM_ABOVE_BYTES) return op;
    logQuarantine(ctx, op, 'document over 1 MiB');
    return quarantineStub(op, 'document over 1 MiB', ctx.now());
  });
}

/**
 * Queues ops on the run's pipelined queue (pre-trimmed); a batch Firestore refuses later is
 * repaired by `repairRefused`, the queue's refusal handler.
 */
export async function queueQuarantining(
  ops: readonly EventOp[],
  ctx: QuarantineContext,
  queue: BatchQueue,
): Promise<{ writes: number; deletes: number; quarantined: number }> {
  const trimmed = pretrim(ops, ctx);
  const quarantined = trimmed.filter((op, i) => op !== ops[i]).length;
  return { ...(await writeEventOps(ctx.db, ctx.cal, trimmed, ctx.fence, queue)), quarantined };
}

/**
 * The queue's handler for a refused batch: INVALID_ARGUMENT → its event writes one at a time,
 * each refused event stored as a stub (`onStub` counts them). Anything else — or a refused
 * write that is not an event's — fails the run as before.
 */
export function repairRefused(ctx: QuarantineContext, onStub: () => void): RefusedHandler {
  return async (writes: readonly QueuedWrite[], err: unknown) => {
    if (!isInvalidArgument(err)) throw err;
    const ops = writes.map((w) => w.tag as EventOp | undefined);
    if (ops.some((op) => op?.type === undefined)) throw err;
    for (const op of ops as EventOp[]) if ((await writeOne(op, ctx)) === 'stub') onStub();
  };
}

/**
 * Writes ops; when Firestore refuses a batch as invalid (INVALID_ARGUMENT: an entity too large,
 * too many index entries), writes them one at a time and stores each refused event as a stub.
 * Returns writes, deletes and how many were quarantined.
 */
export async function writeQuarantining(
  ops: readonly EventOp[],
  ctx: QuarantineContext,
): Promise<{ writes: number; deletes: number; quarantined: number }> {
  const trimmed = pretrim(ops, ctx);
  const quarantined = trimmed.filter((op, i) => op !== ops[i]).length;
  try {
    return { ...(await writeEventOps(ctx.db, ctx.cal, trimmed, ctx.fence)), quarantined };
  } catch (err) {
    if (!isInvalidArgument(err)) throw err;
  }
  let writes = 0;
  let deletes = 0;
  let refused = quarantined;
  for (const op of trimmed) {
    const written = await writeOne(op, ctx);
    if (op.type === 'delete') deletes++;
    else writes++;
    if (written === 'stub') refused++;
  }
  return { writes, deletes, quarantined: refused };
}

async function writeOne(op: EventOp, ctx: QuarantineContext): Promise<'ok' | 'stub' | 'skipped'> {
  try {
    await writeEventOps(ctx.db, ctx.cal, [op], ctx.fence);
    return 'ok';
  } catch (err) {
    if (err instanceof FenceRevokedError || !isInvalidArgument(err) || op.type !== 'set') throw err;
    const reason = `refused by Firestore: ${shortMessage(err)}`;
    logQuarantine(ctx, op, reason);
    try {
      await writeEventOps(ctx.db, ctx.cal, [quarantineStub(op, reason, ctx.now())], ctx.fence);
      return 'stub';
    } catch (again) {
      if (again instanceof FenceRevokedError || !isInvalidArgument(again)) throw again;
      // Even the stub is refused: drop the old copy so the mirror holds nothing wrong.
      ctx.logger.error('quarantined event could not be stored at all', { eventId: op.event.id });
      const batch = ctx.fence.batch();
      batch.delete(ctx.db.collection(paths.events(ctx.cal.uid, ctx.cal.calendarId)).doc(op.docId));
      await commitFenced(ctx.fence, batch);
      return 'skipped';
    }
  }
}

function logQuarantine(ctx: QuarantineContext, op: SetOp, reason: string): void {
  ctx.logger.warn('event quarantined', {
    event: 'quarantined',
    eventId: op.event.id,
    reason,
    bytes: estimatedBytes(op.event),
  });
}

/**
 * The write itself is unacceptable, not a transient failure: gRPC INVALID_ARGUMENT from the server
 * (entity too large, too many index entries), or the SDK's own validation ("… is not a valid
 * Firestore document", e.g. maps nested deeper than 20 levels).
 */
function isInvalidArgument(err: unknown): boolean {
  if ((err as { code?: unknown } | undefined)?.code === 3) return true;
  return err instanceof Error && /is not a valid Firestore document/.test(err.message);
}

function shortMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/^\d+ INVALID_ARGUMENT: /, '').slice(0, 160);
}
