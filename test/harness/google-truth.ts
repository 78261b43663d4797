// What Google holds, listed as calsync lists it — the reference every convergence check compares the mirror to.
import type { calendar_v3 } from '@googleapis/calendar';

/** Every event of a full list (singleEvents=false, showDeleted=false: cancelled exceptions of live series included), by id. */
export async function googleEvents(
  cal: calendar_v3.Calendar,
  calendarId: string,
): Promise<Map<string, calendar_v3.Schema$Event>> {
  const out = new Map<string, calendar_v3.Schema$Event>();
  let pageToken: string | undefined;
  do {
    const { data } = await cal.events.list({
      calendarId,
      singleEvents: false,
      showDeleted: false,
      maxResults: 2500,
      ...(pageToken ? { pageToken } : {}),
    });
    for (const item of data.items ?? []) out.set(item.id!, item);
    pageToken = data.nextPageToken ?? undefined;
  } while (pageToken);
  return out;
}

/** id → etag of a full list. */
export async function truthOf(
  cal: calendar_v3.Calendar,
  calendarId: string,
): Promise<Map<string, string>> {
  const events = await googleEvents(cal, calendarId);
  return new Map([...events].map(([id, e]) => [id, e.etag ?? '']));
}
