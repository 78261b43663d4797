// An in-memory CalendarApi with Google's paging and token rules, for calendars too big to build through the simulator quickly.
import type { CalendarApi, EventsPage, GoogleEvent } from '../../../functions/calendar/api.js';
import { CalendarError } from '../../../functions/calendar/errors.js';

/**
 * Holds events with increasing etags; events.list pages by `maxResults`, a sync token returns what
 * changed since it was issued (deletions as id-only cancelled items), and `expireTokens()` makes
 * every issued token answer 410 like Google.
 */
export class FakeGoogle {
  private events = new Map<string, { ev: GoogleEvent; seq: number }>();
  private seq = 0;
  private validFrom = 0;
  listCalls: { syncToken?: string; pageToken?: string }[] = [];

  constructor(readonly timeZone = 'Europe/Berlin') {}

  private touch(ev: GoogleEvent): GoogleEvent {
    this.seq++;
    const stamped = {
      ...ev,
      etag: `"${1_700_000_000_000_000 + this.seq}"`,
      updated: new Date(1_700_000_000_000 + this.seq).toISOString(),
    };
    this.events.set(ev.id!, { ev: stamped, seq: this.seq });
    return stamped;
  }

  addMany(n: number): string[] {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const start = Date.UTC(2026, 0, 1, 8) + i * 3_600_000;
      const id = `ev${String(i).padStart(6, '0')}`;
      ids.push(id);
      this.touch({
        kind: 'calendar#event',
        id,
        status: 'confirmed',
        summary: `event ${i}`,
        htmlLink: `https://www.google.com/calendar/event?eid=${id}`,
        created: '2025-12-01T00:00:00.000Z',
        creator: { email: 'owner@example.com', self: true },
        organizer: { email: 'owner@example.com', self: true },
        start:
          i % 10 === 0
            ? { date: new Date(start).toISOString().slice(0, 10) }
            : { dateTime: new Date(start).toISOString(), timeZone: this.timeZone },
        end:
          i % 10 === 0
            ? { date: new Date(start + 86_400_000).toISOString().slice(0, 10) }
            : { dateTime: new Date(start + 1_800_000).toISOString(), timeZone: this.timeZone },
        iCalUID: `${id}@google.com`,
        sequence: 0,
        reminders: { useDefault: true },
        eventType: 'default',
      });
    }
    return ids;
  }
  patch(id: string, fields: Partial<GoogleEvent>) {
    this.touch({ ...this.events.get(id)!.ev, ...fields });
  }
  remove(id: string) {
    this.seq++;
    this.events.set(id, {
      ev: {
        kind: 'calendar#event',
        id,
        status: 'cancelled',
        etag: `"${1_700_000_000_000_000 + this.seq}"`,
      },
      seq: this.seq,
    });
  }
  expireTokens() {
    this.validFrom = this.seq + 1;
  }

  api(): CalendarApi {
    const fail = () => Promise.reject(new Error('not used'));
    return {
      listEvents: (params) => {
        this.listCalls.push({ syncToken: params.syncToken, pageToken: params.pageToken });
        let since = -1;
        if (params.syncToken !== undefined) {
          since = Number(params.syncToken.replace('sync-', ''));
          if (!Number.isInteger(since) || since < this.validFrom - 1) {
            return Promise.reject(
              new CalendarError({
                kind: 'sync_token_invalid',
                status: 410,
                reason: 'fullSyncRequired',
                message: 'Sync token is no longer valid, a full sync is required.',
              }),
            );
          }
        }
        const all = [...this.events.values()]
          .filter((e) => (since < 0 ? e.ev.status !== 'cancelled' : e.seq > since))
          .map((e) => e.ev);
        const offset = params.pageToken ? Number(params.pageToken) : 0;
        const items = all.slice(offset, offset + params.maxResults);
        const more = offset + params.maxResults < all.length;
        const page: EventsPage = {
          items,
          nextPageToken: more ? String(offset + params.maxResults) : undefined,
          nextSyncToken: more ? undefined : `sync-${this.seq}`,
          timeZone: this.timeZone,
        };
        return Promise.resolve(page);
      },
      getCalendar: (id) => Promise.resolve({ id, summary: 'big', timeZone: this.timeZone }),
      watchEvents: fail,
      stopChannel: () => Promise.resolve(),
      listCalendarList: fail,
      watchCalendarList: fail,
    };
  }
}
