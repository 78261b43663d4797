// One calendar's daily roll as the worker runs it for a `roll` message (decision 011): skip what today's roll already did, else roll and record it.
import { Timestamp, type Firestore } from '@google-cloud/firestore';
import type { Logger } from '../log.js';
import { paths, type SubscriptionDoc } from '../store/schema.js';
import { rollOccurrenceWindow, type RollStats } from './roll.js';
import { utcDayStart, type WindowSettings } from './model.js';

export type SubscriptionRoll =
  | { kind: 'rolled'; stats: RollStats }
  /** Rolled already this UTC day (a duplicate or late message): nothing read beyond the subscription. */
  | { kind: 'current' }
  /** A removed subscription: its view is not kept. */
  | { kind: 'not_kept' };

/**
 * Rolls the calendar's occurrence window to `now` unless it was rolled this UTC day, then records
 * when and through which end (the next roll computes only what starts after it). Idempotent, so a
 * redelivered or duplicated message costs the caller's one read; safe beside a running sync (roll.ts).
 */
export async function rollSubscriptionWindow(
  db: Firestore,
  subscriptionId: string,
  /** The subscription as the caller just read it. */
  sub: SubscriptionDoc,
  now: number,
  /** The window settings (roll.ts's defaults where absent) and the logger, as rollOccurrenceWindow takes them. */
  settings: Partial<WindowSettings> & { logger?: Logger },
): Promise<SubscriptionRoll> {
  if (sub.status === 'removed') return { kind: 'not_kept' };
  const rolledAt = sub.occurrencesRolledAt?.toMillis() ?? null;
  if (rolledAt !== null && rolledAt >= utcDayStart(now)) return { kind: 'current' };
  const stats = await rollOccurrenceWindow(db, sub.uid, sub.calendarId, now, {
    ...settings,
    rolledThrough: sub.occurrencesRolledThrough?.toMillis() ?? null,
  });
  await db.doc(paths.subscription(subscriptionId)).update({
    occurrencesRolledAt: Timestamp.fromMillis(now),
    occurrencesRolledThrough: Timestamp.fromMillis(stats.window.end),
  });
  return { kind: 'rolled', stats };
}
