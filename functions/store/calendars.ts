// users/{uid}/calendars/{calendarId}: the user-visible sync status, time zone and counts.
import { Timestamp, type Firestore } from '@google-cloud/firestore';
import type { CasWrite } from './cas.js';
import { paths, type CalendarDoc, type SubscriptionDoc, type SyncStatus } from './schema.js';

export interface CalendarStatusUpdate {
  status: SyncStatus;
  now: number;
  /** Set on success. */
  synced?: boolean;
  lastError?: { code: string; reason: string } | null;
  counts?: { events: number; tombstones?: number };
  timeZone?: string;
  summary?: string;
}

/** Merges the status into the calendar document (created if missing). */
export async function updateCalendarStatus(
  db: Firestore,
  uid: string,
  calendarId: string,
  u: CalendarStatusUpdate,
): Promise<void> {
  const sync: Record<string, unknown> = { status: u.status };
  if (u.synced) sync.lastSyncedAt = Timestamp.fromMillis(u.now);
  if (u.lastError !== undefined) sync.lastError = u.lastError;
  await db.doc(paths.calendar(uid, calendarId)).set(
    {
      calendarId,
      sync,
      ...(u.counts ? { counts: u.counts } : {}),
      ...(u.timeZone ? { timeZone: u.timeZone } : {}),
      ...(u.summary ? { summary: u.summary } : {}),
    },
    { merge: true },
  );
}

export async function readCalendarDoc(
  db: Firestore,
  uid: string,
  calendarId: string,
): Promise<Partial<CalendarDoc> | undefined> {
  const snap = await db.doc(paths.calendar(uid, calendarId)).get();
  return snap.exists ? (snap.data() as Partial<CalendarDoc>) : undefined;
}

/**
 * The calendar document's side of a subscription's status change, as a merge-set for the same
 * compare-and-set commit (store/cas.ts): `sync` fields, plus any top-level ones (counts, time zone).
 */
export function calendarSyncSet(
  db: Firestore,
  sub: Pick<SubscriptionDoc, 'uid' | 'calendarId'>,
  sync: Record<string, unknown>,
  fields: Record<string, unknown> = {},
): NonNullable<CasWrite['sets']>[number] {
  return {
    ref: db.doc(paths.calendar(sub.uid, sub.calendarId)),
    merge: true,
    data: { calendarId: sub.calendarId, sync, ...fields },
  };
}
