// Occurrence ↔ Firestore document: Timestamps for instants, and a deep comparison so unchanged docs are not rewritten.
import { Timestamp } from '@google-cloud/firestore';
import type { OccurrenceDocument } from '../read-models/types.js';
import type { Occurrence } from './model.js';

/** The stored body of an occurrence (its id is the document id): the read model's document. */
export function occurrenceDocument(
  o: Occurrence,
): OccurrenceDocument<Timestamp> & Record<string, unknown> {
  const { startAt, endAt, originalStartAt, occurrenceId: _id, ...rest } = o;
  return {
    ...rest,
    startAt: Timestamp.fromMillis(startAt),
    endAt: Timestamp.fromMillis(endAt),
    originalStartAt: originalStartAt === null ? null : Timestamp.fromMillis(originalStartAt),
  };
}

/** A JSON-comparable form: Timestamps as ms, object keys sorted, undefined fields dropped. */
function canonical(value: unknown): unknown {
  if (value instanceof Timestamp) return { $ts: value.toMillis() };
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = canonical(v);
    }
    return out;
  }
  return value;
}

/**
 * Fields that alone never cause a rewrite. Google bumps a master's `updated` (and etag) when one
 * of its instances is edited; copying it into every plain instance would turn "edit one instance"
 * into "rewrite the series". So an occurrence's `updated` is its source event's `updated` as of
 * the last time the occurrence's content changed.
 */
const IGNORED = new Set(['updated']);

function content(doc: Record<string, unknown>): string {
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) if (!IGNORED.has(k)) rest[k] = v;
  return JSON.stringify(canonical(rest));
}

/** Whether a stored document already shows what `wanted` shows (so writing it would change nothing). */
export function sameDocument(
  stored: Record<string, unknown> | undefined,
  wanted: Record<string, unknown>,
): boolean {
  return stored !== undefined && content(stored) === content(wanted);
}
