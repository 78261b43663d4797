// Conformance: events.list paging — exactly one of nextPageToken / nextSyncToken per page, sync token
// only on the last page, short and empty pages, page tokens bound to their query.
import type { calendar_v3 } from '@googleapis/calendar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { googleCalendar, SimulatorClient } from '../../simulator/client.js';
import { startSimulator, type Simulator } from '../../simulator/index.js';

type Cal = calendar_v3.Calendar;

async function listAll(cal: Cal, params: calendar_v3.Params$Resource$Events$List) {
  const pages: calendar_v3.Schema$Events[] = [];
  let pageToken: string | undefined;
  for (;;) {
    const { data } = await cal.events.list({ ...params, pageToken });
    pages.push(data);
    // Exactly one of the two tokens on every page.
    expect(Boolean(data.nextPageToken) !== Boolean(data.nextSyncToken)).toBe(true);
    if (!data.nextPageToken) break;
    pageToken = data.nextPageToken;
    expect(pages.length).toBeLessThan(10_000);
  }
  return pages;
}

async function insertMany(cal: Cal, n: number): Promise<void> {
  const base = Date.UTC(2025, 0, 1, 9);
  for (let i = 0; i < n; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, (_, k) => {
        const s = base + (i + k) * 3_600_000;
        return cal.events.insert({
          calendarId: 'primary',
          requestBody: {
            summary: `event ${i + k}`,
            start: { dateTime: new Date(s).toISOString() },
            end: { dateTime: new Date(s + 1_800_000).toISOString() },
          },
        });
      }),
    );
  }
}

describe('events.list paging', () => {
  let sim: Simulator;
  let cal: Cal;
  const N = 2600;

  beforeAll(async () => {
    sim = await startSimulator({ rateLimitPerMinute: 100_000 });
    await new SimulatorClient(sim.url).createUser('pager@example.com', 'rt-pager');
    cal = googleCalendar(sim.url, 'rt-pager').calendar;
    await insertMany(cal, N);
  });
  afterAll(() => sim.close());

  for (const maxResults of [1, 7, 250, 2500]) {
    it(`maxResults=${maxResults}: one token kind per page, sync token only on the last, every event once`, async () => {
      // maxResults=1 pages through a 150-event window (one page per event).
      const window = {
        timeMin: '2025-01-01T00:00:00Z',
        timeMax: new Date(Date.UTC(2025, 0, 1, 9) + 150 * 3_600_000).toISOString(),
      };
      const params =
        maxResults === 1
          ? { calendarId: 'primary', maxResults, ...window }
          : { calendarId: 'primary', maxResults };
      const pages = await listAll(cal, params);
      const ids = pages.flatMap((p) => (p.items ?? []).map((e) => e.id));
      for (const p of pages) expect((p.items ?? []).length).toBeLessThanOrEqual(maxResults);
      pages.slice(0, -1).forEach((p) => expect(p.nextSyncToken).toBeUndefined());
      expect(pages.at(-1)!.nextSyncToken).toBeTruthy();
      expect(new Set(ids).size).toBe(ids.length);
      if (maxResults === 1) {
        expect(ids.length).toBe(150);
        expect(pages.length).toBeGreaterThanOrEqual(150);
      } else {
        expect(ids.length).toBe(N);
      }
    });
  }

  it('maxResults above 2500 is capped at 2500 and below 1 is rejected', async () => {
    const { data } = await cal.events.list({ calendarId: 'primary', maxResults: 5000 });
    expect(data.items!.length).toBeLessThanOrEqual(2500);
    await expect(cal.events.list({ calendarId: 'primary', maxResults: 0 })).rejects.toMatchObject({
      status: 400,
    });
  });

  it('a page token only continues the query it came from', async () => {
    const { data } = await cal.events.list({ calendarId: 'primary', maxResults: 5 });
    await expect(
      cal.events.list({
        calendarId: 'primary',
        maxResults: 5,
        pageToken: data.nextPageToken!,
        showDeleted: true,
      }),
    ).rejects.toMatchObject({ status: 400 });
    await expect(
      cal.events.list({ calendarId: 'primary', pageToken: 'garbage' }),
    ).rejects.toMatchObject({ status: 400 });
  });
});

describe('short and empty pages', () => {
  let sim: Simulator;
  let cal: Cal;

  beforeAll(async () => {
    sim = await startSimulator({ seed: 7, emptyPageRate: 0.4, shortPageRate: 0.4 });
    await new SimulatorClient(sim.url).createUser('short@example.com', 'rt-short');
    cal = googleCalendar(sim.url, 'rt-short').calendar;
    await insertMany(cal, 120);
  });
  afterAll(() => sim.close());

  it('pages may be empty or short while more remain; paging still yields every event once', async () => {
    const pages = await listAll(cal, { calendarId: 'primary', maxResults: 20 });
    const sizes = pages.map((p) => (p.items ?? []).length);
    const nonFinal = sizes.slice(0, -1);
    expect(nonFinal).toContain(0);
    expect(nonFinal.some((s) => s > 0 && s < 20)).toBe(true);
    const ids = pages.flatMap((p) => (p.items ?? []).map((e) => e.id));
    expect(new Set(ids).size).toBe(120);
    expect(ids.length).toBe(120);
  });

  it('is reproducible: the same seed and requests give the same page sizes', async () => {
    const a = (await listAll(cal, { calendarId: 'primary', maxResults: 20 })).map(
      (p) => p.items?.length,
    );
    const b = (await listAll(cal, { calendarId: 'primary', maxResults: 20 })).map(
      (p) => p.items?.length,
    );
    expect(a).toEqual(b);
  });

  it('forced empty pages can be switched on at run time through the control API', async () => {
    const sim2 = await startSimulator();
    try {
      const ctl = new SimulatorClient(sim2.url);
      await ctl.createUser('x@example.com', 'rt-x');
      const c2 = googleCalendar(sim2.url, 'rt-x').calendar;
      await c2.events.insert({
        calendarId: 'primary',
        requestBody: { start: { date: '2025-01-01' }, end: { date: '2025-01-02' } },
      });
      await ctl.setPaging({ emptyPageRate: 0.9 });
      const pages = await listAll(c2, { calendarId: 'primary' });
      expect(pages.length).toBeGreaterThan(1);
      expect(pages.slice(0, -1).every((p) => (p.items ?? []).length === 0)).toBe(true);
      expect(pages.flatMap((p) => p.items ?? []).length).toBe(1);
    } finally {
      await sim2.close();
    }
  });
});

describe('bulk fixtures (/_sim/calendars/{id}/seed)', () => {
  it('inserts generated events exactly as events.insert would', async () => {
    const sim = await startSimulator({ seed: 5 });
    try {
      const control = new SimulatorClient(sim.url);
      await control.createUser('bulk@example.com', 'rt-bulk');
      const cal = googleCalendar(sim.url, 'rt-bulk').calendar;
      expect(
        await control.seedEvents('bulk@example.com', 3000, { from: '2026-01-01T08:00:00Z' }),
      ).toBe(3000);
      const pages = await listAll(cal, { calendarId: 'primary', maxResults: 2500 });
      const items = pages.flatMap((p) => p.items ?? []);
      expect(items).toHaveLength(3000);
      const first = items.find((e) => e.summary === 'Event 1')!;
      expect(first).toMatchObject({
        kind: 'calendar#event',
        status: 'confirmed',
        start: { dateTime: '2026-01-01T08:00:00Z' },
        end: { dateTime: '2026-01-01T08:30:00Z' },
      });
      expect(first.etag).toMatch(/^"\d+"$/);
      expect(new Set(items.map((e) => e.etag)).size).toBe(3000);
      await expect(control.seedEvents('bulk@example.com', 0)).rejects.toThrow(/count must be/);
    } finally {
      await sim.close();
    }
  });
});
