// What Google holds, listed as calsync lists it — the reference every convergence check compares the mirror to — and what the mirror holds.
import type { DocumentData, Firestore } from '@google-cloud/firestore';
import type { calendar_v3 } from '@googleapis/calendar';
import { paths } from '../../functions/store/schema.js';

/** id → event of a full list (singleEvents=false, showDeleted=false: cancelled exceptions of live series included). */
export async function googleEvents(
  cal: calendar_v3.Calendar,
  calendarId: string,
): Promise<Map<string, calendar_v3.Schema$Event>> {
  const out = new Map<string, calendar_v3.Schema$Event>();
  let pageToken: string | undefined;
  for (;;) {
    const { data } = await cal.events.list({
      calendarId,
      singleEvents: false,
      showDeleted: false,
      maxResults: 2500,
      ...(pageToken ? { pageToken } : {}),
    });
    for (const item of data.items ?? []) out.set(item.id!, item);
    if (!data.nextPageToken) return out;
    pageToken = data.nextPageToken;
  }
}

/** id → etag of the same list. */
export async function truthOf(
  cal: calendar_v3.Calendar,
  calendarId: string,
): Promise<Map<string, string>> {
  const events = await googleEvents(cal, calendarId);
  return new Map([...events].map(([id, e]) => [id, e.etag ?? '']));
}

/** The mirror: event id → document, every event document (live events and tombstones). */
export async function mirrorDocuments<T extends DocumentData = DocumentData>(
  db: Firestore,
  uid: string,
  calendarId: string,
): Promise<Map<string, T>> {
  const snap = await db.collection(paths.events(uid, calendarId)).get();
  return new Map(
    snap.docs.map((d) => [(d.get('id') as string | undefined) ?? d.id, d.data() as T]),
  );
}
