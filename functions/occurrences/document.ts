// Occurrence ↔ Firestore document: Timestamps for instants, and a deep comparison so unchanged docs are not rewritten.
import { Timestamp } from '@google-cloud/firestore';
import type { Occurrence } from './model.js';

/** The stored body of an occurrence (its id is the document id). */
export function occurrenceDocument(o: Occurrence): Record<string, unknown> {
  const { startAt, endAt, originalStartAt, ...rest } = o;
  const body: Record<string, unknown> = { ...rest };
  delete body.occurrenceId;
  return {
    ...body,
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

/** Whether a stored document already holds exactly `wanted` (so writing it would change nothing). */
export function sameDocument(
  stored: Record<string, unknown> | undefined,
  wanted: Record<string, unknown>,
): boolean {
  return (
    stored !== undefined && JSON.stringify(canonical(stored)) === JSON.stringify(canonical(wanted))
  );
}
