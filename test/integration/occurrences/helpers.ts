// Occurrence integration helpers: write event documents the way the worker does, and measure which occurrence docs changed.
import type { Firestore, Timestamp } from '@google-cloud/firestore';
import type { GoogleEvent } from '../../../functions/calendar/api.js';
import { eventDocument } from '../../../functions/store/events.js';
import { encodeDocId, paths } from '../../../functions/store/schema.js';
import { eventTimes } from '../../../functions/time/event-times.js';

export interface Cal {
  uid: string;
  calendarId: string;
}

/** Stores an event document exactly as the worker does (Google JSON + startAt/endAt). */
export async function putEvent(db: Firestore, cal: Cal, event: GoogleEvent, tz = 'UTC') {
  const docId = encodeDocId(event.id!);
  await db
    .doc(paths.event(cal.uid, cal.calendarId, event.id!))
    .set(eventDocument({ type: 'set', docId, event, ...eventTimes(event, tz) }));
}

export async function deleteEvent(db: Firestore, cal: Cal, id: string) {
  await db.doc(paths.event(cal.uid, cal.calendarId, id)).delete();
}

/** Occurrence doc id → update time (ms·1e6 + ns, as a string: exact). */
export async function updateTimes(db: Firestore, cal: Cal): Promise<Map<string, string>> {
  const snap = await db.collection(paths.occurrences(cal.uid, cal.calendarId)).get();
  return new Map(
    snap.docs.map((d) => [d.id, `${d.updateTime.seconds}.${d.updateTime.nanoseconds}`]),
  );
}

/** Documents created, rewritten (update time moved) and deleted between two `updateTimes` reads. */
export function changedBetween(before: Map<string, string>, after: Map<string, string>) {
  const created = [...after.keys()].filter((id) => !before.has(id));
  const deleted = [...before.keys()].filter((id) => !after.has(id));
  const updated = [...after].filter(([id, t]) => before.has(id) && before.get(id) !== t);
  return { created, updated: updated.map(([id]) => id), deleted };
}

export async function occurrenceDocs(db: Firestore, cal: Cal) {
  const snap = await db
    .collection(paths.occurrences(cal.uid, cal.calendarId))
    .orderBy('startAt')
    .get();
  return snap.docs.map((d) => ({ id: d.id, ...d.data() }) as Record<string, unknown>);
}

export const iso = (t: unknown) => (t as Timestamp).toDate().toISOString();

/** A New York wall time (with its offset) as Google writes a start or end. */
export const ny = (dateTime: string) => ({ dateTime, timeZone: 'America/New_York' });

/** A weekly Monday series at 10:00 New York time. */
export function weekly(id: string, over: Partial<GoogleEvent> = {}): GoogleEvent {
  return {
    id,
    kind: 'calendar#event',
    etag: '"100"',
    status: 'confirmed',
    summary: 'Weekly sync',
    updated: '2026-01-01T00:00:00.000Z',
    start: ny('2026-01-05T10:00:00-05:00'),
    end: ny('2026-01-05T10:30:00-05:00'),
    recurrence: ['RRULE:FREQ=WEEKLY;BYDAY=MO'],
    ...over,
  };
}
