// What Google holds, listed as calsync lists it — the reference every convergence check compares the mirror to — and what the mirror holds.
import type { DocumentData, Firestore } from '@google-cloud/firestore';
import type { calendar_v3 } from '@googleapis/calendar';
import { paths } from '../../functions/store/schema.js';

/** Every item of a paged Google list: `page` is called with each next page token (none first). */
export async function allPages<T>(
  page: (
    pageToken: string | undefined,
  ) => Promise<{ data: { items?: T[]; nextPageToken?: string | null } }>,
): Promise<T[]> {
  const out: T[] = [];
  let pageToken: string | undefined;
  do {
    const { data } = await page(pageToken);
    out.push(...(data.items ?? []));
    pageToken = data.nextPageToken ?? undefined;
  } while (pageToken);
  return out;
}

/** id → event of a full list (singleEvents=false, showDeleted=false: cancelled exceptions of live series included). */
export async function googleEvents(
  cal: calendar_v3.Calendar,
  calendarId: string,
): Promise<Map<string, calendar_v3.Schema$Event>> {
  const items = await allPages((pageToken) =>
    cal.events.list({
      calendarId,
      singleEvents: false,
      showDeleted: false,
      maxResults: 2500,
      ...(pageToken ? { pageToken } : {}),
    }),
  );
  return new Map(items.map((item) => [item.id!, item]));
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
