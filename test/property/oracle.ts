// What the mirror should hold, computed from Google (the simulator) and never from calsync's code: events with their instants, and the occurrences of Google's own expansion (singleEvents=true).
import type { calendar_v3 } from '@googleapis/calendar';
import { parseDate, parseDateTime, wallToInstant } from '../simulator/tz.js';

export { googleEvents } from '../harness/google-truth.js';

export type GoogleEvent = calendar_v3.Schema$Event;

export async function googleTimeZone(
  cal: calendar_v3.Calendar,
  calendarId: string,
): Promise<string> {
  const { data } = await cal.calendars.get({ calendarId });
  return data.timeZone ?? 'UTC';
}

/**
 * The instant a Google start/end denotes: a dateTime as written (offset included); a date at
 * midnight in the calendar's time zone (DESIGN.md "Firestore layout"). Uses the simulator's own
 * time-zone code, not calsync's.
 */
export function instantOf(
  t: calendar_v3.Schema$EventDateTime | undefined,
  calendarZone: string,
): number | null {
  if (!t) return null;
  if (t.dateTime) return parseDateTime(t.dateTime) ?? null;
  const d = t.date ? parseDate(t.date) : undefined;
  if (!d) return null;
  return wallToInstant({ ...d, hour: 0, minute: 0, second: 0 }, calendarZone);
}

export interface ExpectedOccurrence {
  startAt: number | null;
  endAt: number | null;
  summary: string | null;
}

/** Google's expansion (singleEvents=true) of everything overlapping [start, end). */
export async function googleOccurrences(
  cal: calendar_v3.Calendar,
  calendarId: string,
  window: { start: number; end: number },
  calendarZone: string,
): Promise<Map<string, ExpectedOccurrence>> {
  const out = new Map<string, ExpectedOccurrence>();
  let pageToken: string | undefined;
  do {
    const { data } = await cal.events.list({
      calendarId,
      singleEvents: true,
      timeMin: new Date(window.start).toISOString(),
      timeMax: new Date(window.end).toISOString(),
      maxResults: 2500,
      ...(pageToken ? { pageToken } : {}),
    });
    for (const e of data.items ?? []) {
      if (e.status === 'cancelled') continue;
      out.set(e.id!, {
        startAt: instantOf(e.start, calendarZone),
        endAt: instantOf(e.end, calendarZone),
        summary: e.summary ?? null,
      });
    }
    pageToken = data.nextPageToken ?? undefined;
  } while (pageToken);
  return out;
}

/** Firestore's entity limit: a document bigger than this is refused. */
export const FIRESTORE_MAX_DOCUMENT = 1_048_576;

/** Whether the event, stored as it is, would be refused by Firestore (a rough upper bound of its size). */
export function exceedsFirestore(e: GoogleEvent): boolean {
  return Buffer.byteLength(JSON.stringify(e), 'utf8') > FIRESTORE_MAX_DOCUMENT - 2048;
}
