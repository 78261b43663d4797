// A CalendarApi that serves scripted listings, one per sync (its pages in order), whatever the parameters: for replaying recorded or hand-made deltas without the simulator.
import type { CalendarApi, EventsPage, GoogleEvent } from '../../functions/calendar/api.js';

/** `script[n]` is the pages of the n-th listing; calendars.get answers `timeZone`. */
export function scriptedApi(
  script: EventsPage[][],
  timeZone: string,
  summary = 'scripted',
): CalendarApi {
  let sync = -1;
  let page = 0;
  const fail = () => Promise.reject(new Error('not used'));
  return {
    listEvents(params) {
      if (!params.pageToken) {
        sync++;
        page = 0;
      }
      const pages = script[sync];
      if (!pages) throw new Error(`no scripted sync #${sync}`);
      return Promise.resolve(pages[page++]!);
    },
    getCalendar: (id) => Promise.resolve({ id, summary, timeZone }),
    watchEvents: fail,
    stopChannel: () => Promise.resolve(),
    listCalendarList: fail,
    watchCalendarList: fail,
  };
}

/** Items per page as one listing: page tokens between them, `syncToken` on the last. */
export function listing(
  pages: GoogleEvent[][],
  syncToken: string,
  timeZone?: string,
): EventsPage[] {
  return pages.map((items, i) => {
    const last = i === pages.length - 1;
    return {
      items,
      nextPageToken: last ? undefined : `p${i + 1}`,
      nextSyncToken: last ? syncToken : undefined,
      timeZone,
    };
  });
}
