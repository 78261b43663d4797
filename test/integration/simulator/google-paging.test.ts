// Conformance (issue 18, points 2 and 3): paging over live data with sync tokens as time
// watermarks, and pages that are short, empty, or empty at the end.
// Sources: CALENDAR-API.md "Where Google is harder" (recorded nextSyncTokens decode to a
// microsecond stamp equal to the response's `updated`, not a snapshot id — e.g. compass
// recurring__* payloads); google-api-ruby-client#860 (deltas re-send items already seen);
// events.list reference, maxResults: "The number of events in the resulting page may be less than
// this parameter value, or none at all, even if there are more events matching the query."
import type { calendar_v3 } from '@googleapis/calendar';
import { beforeEach, describe, expect, it } from 'vitest';
import { simulatorUserFixture } from '../../harness/fixtures.js';

type Cal = calendar_v3.Calendar;
type Ev = calendar_v3.Schema$Event;

const day = (d: number) => ({
  start: { dateTime: `2025-06-${String(d).padStart(2, '0')}T10:00:00Z` },
  end: { dateTime: `2025-06-${String(d).padStart(2, '0')}T11:00:00Z` },
});

interface Walk {
  pages: Ev[][];
  syncToken: string;
}

/** Page through a listing, calling `between` after the first page. */
async function walk(
  cal: Cal,
  params: calendar_v3.Params$Resource$Events$List,
  between: () => Promise<void> = async () => undefined,
): Promise<Walk> {
  const pages: Ev[][] = [];
  let pageToken: string | undefined;
  for (;;) {
    const { data } = await cal.events.list({ calendarId: 'primary', ...params, pageToken });
    expect(!!data.nextPageToken !== !!data.nextSyncToken).toBe(true);
    pages.push(data.items ?? []);
    if (pages.length === 1) await between();
    if (!data.nextPageToken) return { pages, syncToken: data.nextSyncToken! };
    pageToken = data.nextPageToken;
  }
}

describe('live paging and page shapes', () => {
  const google = simulatorUserFixture({
    simulator: { seed: 2 },
    user: { email: 'pg@example.com', refreshToken: 'rt-pg' },
  });
  const ids: string[] = [];

  beforeEach(async () => {
    ids.length = 0;
    for (let d = 1; d <= 9; d++) {
      const data = await google.insert({ summary: `e${d}`, ...day(d) });
      ids.push(data.id!);
    }
  });

  /** Mid-listing: edit one listed event and one not yet listed, delete one, add one. */
  async function churn(firstPage: Ev[]): Promise<{ seen: string; unseen: string; gone: string }> {
    const listed = new Set(firstPage.map((e) => e.id!));
    const seen = firstPage[0]!.id!;
    const [unseen, gone] = ids.filter((id) => !listed.has(id));
    await google.patch(seen, { summary: 'S2' });
    await google.patch(unseen!, { summary: 'U2' });
    await google.cal.events.delete({ calendarId: 'primary', eventId: gone! });
    await google.insert({ summary: 'new', ...day(20) });
    return { seen, unseen: unseen!, gone: gone! };
  }

  it('livePaging: an item changed mid-listing shows up again, newer; the next delta repeats the changes', async () => {
    await google.ctl.setRealism({ livePaging: true });
    let changed: Awaited<ReturnType<typeof churn>> | undefined;
    const w = await walk(google.cal, { maxResults: 3 }, async () => {
      changed = await churn(
        (await google.cal.events.list({ calendarId: 'primary', maxResults: 3 })).data.items!,
      );
    });
    const { seen, unseen, gone } = changed!;
    const all = w.pages.flat();
    const summaries = (id: string) => all.filter((e) => e.id === id).map((e) => e.summary);
    // Listed on page 1, changed, listed again later in its new version.
    expect(summaries(seen)).toEqual([expect.stringMatching(/^e\d$/), 'S2']);
    // Not yet listed when changed: appears once, already new.
    expect(summaries(unseen)).toEqual(['U2']);
    // Deleted before its page: absent. Inserted mid-listing: present.
    expect(summaries(gone)).toEqual([]);
    expect(all.some((e) => e.summary === 'new')).toBe(true);
    // The token is a watermark from the listing's start: the delta repeats everything since.
    const delta = await google.cal.events.list({ calendarId: 'primary', syncToken: w.syncToken });
    const byId = new Map(delta.data.items!.map((e) => [e.id!, e]));
    expect(byId.get(seen)!.summary).toBe('S2');
    expect(byId.get(unseen)!.summary).toBe('U2');
    expect(byId.get(gone)!.status).toBe('cancelled');
    expect(delta.data.items!.length).toBe(4);
  });

  it('default (snapshot paging): items changed after the first page are left to the delta; nothing twice, nothing newer', async () => {
    let changed: Awaited<ReturnType<typeof churn>> | undefined;
    const w = await walk(google.cal, { maxResults: 3 }, async () => {
      changed = await churn(
        (await google.cal.events.list({ calendarId: 'primary', maxResults: 3 })).data.items!,
      );
    });
    const all = w.pages.flat();
    const { unseen, gone } = changed!;
    expect(all.map((e) => e.id).sort()).toEqual(
      ids.filter((id) => id !== unseen && id !== gone).sort(),
    );
    expect(all.every((e) => /^e\d$/.test(e.summary!))).toBe(true);
    const delta = await google.cal.events.list({ calendarId: 'primary', syncToken: w.syncToken });
    expect(delta.data.items!.map((e) => e.id).sort()).toEqual(
      expect.arrayContaining([changed!.seen, changed!.unseen, changed!.gone]),
    );
  });

  it('short, empty and empty-last pages: every item exactly once, the token only on the last page', async () => {
    await google.ctl.setPaging({ emptyPageRate: 0.3, shortPageRate: 0.4, emptyLastPageRate: 1 });
    const w = await walk(google.cal, { maxResults: 4 });
    const sizes = w.pages.map((p) => p.length);
    expect(sizes.at(-1)).toBe(0); // the last page is empty and carries nextSyncToken
    expect(sizes.slice(0, -1).some((n) => n === 0)).toBe(true); // an empty page before the end
    expect(sizes.some((n) => n > 0 && n < 4)).toBe(true); // a short page
    expect(
      w.pages
        .flat()
        .map((e) => e.id)
        .sort(),
    ).toEqual([...ids].sort());
    // Deltas page the same way; an empty delta is a single empty page with the token.
    await google.ctl.setPaging({ emptyPageRate: 0, shortPageRate: 0, emptyLastPageRate: 0 });
    const empty = await google.cal.events.list({ calendarId: 'primary', syncToken: w.syncToken });
    expect(empty.data.items).toEqual([]);
    expect(empty.data.nextSyncToken).toBeTruthy();
  });

  it('calendarList pages live too', async () => {
    await google.ctl.setRealism({ livePaging: true });
    for (let i = 0; i < 4; i++)
      await google.ctl.createCalendar('pg@example.com', { summary: `c${i}` });
    const first = await google.cal.calendarList.list({ maxResults: 2 });
    await google.ctl.createCalendar('pg@example.com', { summary: 'late' });
    const rest: calendar_v3.Schema$CalendarListEntry[] = [];
    let pageToken = first.data.nextPageToken ?? undefined;
    let syncToken: string | undefined;
    while (pageToken) {
      const { data } = await google.cal.calendarList.list({ maxResults: 2, pageToken });
      rest.push(...(data.items ?? []));
      pageToken = data.nextPageToken ?? undefined;
      syncToken = data.nextSyncToken ?? undefined;
    }
    expect(rest.map((c) => c.summary)).toContain('late');
    const delta = await google.cal.calendarList.list({ syncToken });
    expect(delta.data.items!.map((c) => c.summary)).toEqual(['late']);
  });
});
