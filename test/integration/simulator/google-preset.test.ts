// Conformance: `realism: 'google'` is hard but never lossy. Seeded histories of edits (single
// events, series, instance edits and cancellations, UI splits) interleaved with paged full and
// incremental syncs — some of them with edits between pages — under the preset's visibility lag,
// live paging, short/empty pages and untidy events. A careful client (keeps the newest etag per
// id, cascades a deleted master to its exceptions, resyncs on 410) must end equal to the calendar.
import type { calendar_v3 } from '@googleapis/calendar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { googleCalendar, SimulatorClient } from '../../simulator/client.js';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import { mulberry32 } from '../../simulator/random.js';

type Cal = calendar_v3.Calendar;
type Ev = calendar_v3.Schema$Event;

const etagOf = (e: Ev) => BigInt((e.etag ?? '"0"').replace(/"/g, ''));

/** A careful mirror of one calendar (singleEvents=false). */
class Mirror {
  readonly items = new Map<string, Ev>();
  token: string | undefined;

  apply(e: Ev): void {
    const had = this.items.get(e.id!);
    if (had && etagOf(had) > etagOf(e)) return; // an older copy never overwrites a newer one
    if (e.status === 'cancelled' && !e.recurringEventId) {
      this.items.delete(e.id!);
      for (const [id, x] of this.items) if (x.recurringEventId === e.id) this.items.delete(id);
      return;
    }
    this.items.set(e.id!, e);
  }

  live(): Map<string, string> {
    return new Map(
      [...this.items.values()]
        .filter((e) => e.status !== 'cancelled')
        .map((e) => [e.id!, e.etag!] as const),
    );
  }
}

describe("realism: 'google' converges", () => {
  let sim: Simulator;
  let ctl: SimulatorClient;
  let cal: Cal;
  const email = 'preset@example.com';

  beforeEach(async () => {
    sim = await startSimulator({ realism: 'google', seed: 77 });
    ctl = new SimulatorClient(sim.url);
    await ctl.createUser(email, 'rt-p');
    cal = googleCalendar(sim.url, 'rt-p').calendar;
  });
  afterEach(() => sim.close());

  /** Page through a listing into the mirror; `between` runs once after the first page. */
  async function sync(m: Mirror, between?: () => Promise<void>): Promise<void> {
    let pageToken: string | undefined;
    const full = m.token === undefined;
    const seen = new Set<string>();
    for (let page = 0; ; page++) {
      let data: calendar_v3.Schema$Events;
      try {
        ({ data } = await cal.events.list({
          calendarId: 'primary',
          maxResults: 4,
          pageToken,
          syncToken: full ? undefined : m.token,
        }));
      } catch (e) {
        if ((e as { status?: number }).status !== 410) throw e;
        m.token = undefined;
        return sync(m);
      }
      for (const e of data.items ?? []) {
        seen.add(e.id!);
        m.apply(e);
      }
      if (page === 0 && between) await between();
      if (!data.nextPageToken) {
        if (full) {
          // A full sync also drops what the calendar no longer lists.
          for (const id of [...m.items.keys()]) if (!seen.has(id)) m.items.delete(id);
        }
        m.token = data.nextSyncToken!;
        return;
      }
      pageToken = data.nextPageToken;
    }
  }

  async function truth(): Promise<Map<string, string>> {
    const m = new Mirror();
    let pageToken: string | undefined;
    do {
      const { data } = await cal.events.list({
        calendarId: 'primary',
        pageToken,
        maxResults: 2500,
      });
      for (const e of data.items ?? []) m.apply(e);
      pageToken = data.nextPageToken ?? undefined;
    } while (pageToken);
    return m.live();
  }

  it.each([1, 2, 3])('history %i: the mirror equals the calendar once quiet', async (seed) => {
    const rand = mulberry32(seed * 7919);
    const pick = <T>(xs: T[]): T | undefined => xs[Math.floor(rand() * xs.length)];
    const singles: string[] = [];
    const series: string[] = [];
    const day = () => String(1 + Math.floor(rand() * 27)).padStart(2, '0');
    const edit = async () => {
      const r = rand();
      const when = day();
      if (r < 0.25 || singles.length === 0) {
        const { data } = await cal.events.insert({
          calendarId: 'primary',
          requestBody: {
            summary: `s${singles.length}`,
            start: { dateTime: `2025-08-${when}T09:00:00Z` },
            end: { dateTime: `2025-08-${when}T10:00:00Z` },
          },
        });
        singles.push(data.id!);
      } else if (r < 0.4) {
        await cal.events.patch({
          calendarId: 'primary',
          eventId: pick(singles)!,
          requestBody: { summary: `edited ${rand().toFixed(3)}` },
        });
      } else if (r < 0.5) {
        const id = singles.splice(Math.floor(rand() * singles.length), 1)[0]!;
        await cal.events.delete({ calendarId: 'primary', eventId: id });
      } else if (r < 0.6 || series.length === 0) {
        const { data } = await cal.events.insert({
          calendarId: 'primary',
          requestBody: {
            summary: 'series',
            start: { dateTime: `2025-08-01T07:30:00-05:00`, timeZone: 'America/Chicago' },
            end: { dateTime: `2025-08-01T08:00:00-05:00`, timeZone: 'America/Chicago' },
            recurrence: ['RRULE:FREQ=DAILY;COUNT=20'],
          },
        });
        series.push(data.id!);
      } else if (r < 0.75) {
        const key = `${pick(series)!.replace(/_R\d{8}T\d{6}$/, '')}_202508${String(2 + Math.floor(rand() * 18)).padStart(2, '0')}T123000Z`;
        await cal.events
          .patch({ calendarId: 'primary', eventId: key, requestBody: { summary: 'one' } })
          .catch(() => undefined); // the occurrence may be gone (split, cancelled)
      } else if (r < 0.85) {
        const key = `${pick(series)!.replace(/_R\d{8}T\d{6}$/, '')}_202508${String(2 + Math.floor(rand() * 18)).padStart(2, '0')}T123000Z`;
        await cal.events.delete({ calendarId: 'primary', eventId: key }).catch(() => undefined);
      } else if (r < 0.93) {
        const id = pick(series)!;
        const at = `202508${String(3 + Math.floor(rand() * 15)).padStart(2, '0')}T123000Z`;
        const rId = await ctl
          .splitSeries(email, id, at, { summary: 'split' })
          .catch(() => undefined);
        if (rId) series.push(rId);
      } else {
        const id = series.splice(Math.floor(rand() * series.length), 1)[0]!;
        await cal.events.delete({ calendarId: 'primary', eventId: id }).catch(() => undefined);
      }
    };

    const mirror = new Mirror();
    for (let i = 0; i < 5; i++) await edit();
    await sync(mirror, edit);
    for (let step = 0; step < 30; step++) {
      await edit();
      if (rand() < 0.35) await sync(mirror, rand() < 0.5 ? edit : undefined);
    }
    // Quiet: every lag has passed; one more delta brings the rest.
    await ctl.advanceClock(2_000);
    await sync(mirror);
    expect(mirror.live()).toEqual(await truth());
  });
});
