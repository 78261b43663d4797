// Full syncs and the occurrence view: a first sync builds occurrences from the listed items (no read-back), a 410 resync reconciles them without `in` queries, and both equal a rebuild from the mirror.
import type { calendar_v3 } from '@googleapis/calendar';
import { describe, expect, it } from 'vitest';
import { windowFor } from '../../../functions/occurrences/pass.js';
import { rebuildOccurrences } from '../../../functions/occurrences/rebuild.js';
import { paths } from '../../../functions/store/schema.js';
import { runSync } from '../../../functions/sync/engine.js';
import { emulatorsMissing } from '../../harness/env.js';
import { syncFixture } from '../sync/helpers.js';

const DAY = 86_400_000;
const TZ = 'Europe/Berlin';

describe.skipIf(emulatorsMissing() !== '')('full syncs and the occurrence view', () => {
  const f = syncFixture({ name: 'occfull', simulator: { seed: 17 }, timeZone: TZ });

  const day = (offset: number) => new Date(Date.now() + offset * DAY).toISOString().slice(0, 10);
  const insert = async (body: calendar_v3.Schema$Event) =>
    (await f.cal.events.insert({ calendarId: f.seeded.calendarId, requestBody: body })).data;
  const patch = (eventId: string, body: calendar_v3.Schema$Event) =>
    f.cal.events.patch({ calendarId: f.seeded.calendarId, eventId, requestBody: body });

  /** Singles in and out of the window, timed and all-day series, a moved and a cancelled instance. */
  async function seedCalendar() {
    await f.ctl.seedEvents(f.seeded.calendarId, 40, {
      from: new Date(Date.now() - 10 * DAY).toISOString(),
      spacingMinutes: 601,
    });
    const far = await insert({
      summary: 'far away',
      start: { dateTime: `${day(800)}T09:00:00Z` },
      end: { dateTime: `${day(800)}T10:00:00Z` },
    });
    const holiday = await insert({
      summary: 'all-day single',
      start: { date: day(3) },
      end: { date: day(5) },
    });
    const weekly = await insert({
      summary: 'weekly',
      start: { dateTime: `${day(-14)}T10:00:00`, timeZone: 'America/New_York' },
      end: { dateTime: `${day(-14)}T10:30:00`, timeZone: 'America/New_York' },
      recurrence: ['RRULE:FREQ=WEEKLY;COUNT=30'],
    });
    const daily = await insert({
      summary: 'all-day daily',
      start: { date: day(-2) },
      end: { date: day(-1) },
      recurrence: ['RRULE:FREQ=DAILY;COUNT=20'],
    });
    const instances = (
      await f.cal.events.instances({ calendarId: f.seeded.calendarId, eventId: weekly.id! })
    ).data.items!;
    const moved = instances[3]!;
    await patch(moved.id!, {
      summary: 'moved instance',
      start: { dateTime: `${day(20)}T15:00:00Z` },
      end: { dateTime: `${day(20)}T16:00:00Z` },
    });
    await f.cal.events.delete({ calendarId: f.seeded.calendarId, eventId: instances[5]!.id! });
    return { far, holiday, weekly, daily, instances };
  }

  const syncLine = (lines: Record<string, unknown>[]) => {
    const line = lines.filter((l) => l.message === 'sync').at(-1);
    expect(line).toBeDefined();
    return line!;
  };

  /** The view equals a rebuild from the mirror: recomputing everything writes and deletes nothing. */
  async function expectSameAsRebuild() {
    const stats = await rebuildOccurrences(
      f.db,
      { uid: f.seeded.uid, calendarId: f.seeded.calendarId },
      { window: windowFor(Date.now(), {}), calendarTimeZone: TZ },
    );
    expect({ writes: stats.writes, deletes: stats.deletes }).toEqual({ writes: 0, deletes: 0 });
    return stats;
  }

  it('a first sync over many pages writes the view from the page items, reading nothing back', async () => {
    await seedCalendar();
    const d = f.deps({ config: { maxResults: 7 } });
    const res = await runSync(d, f.seeded.subscriptionId);
    expect(res).toMatchObject({ outcome: 'synced', full: true });
    expect(res.pages).toBeGreaterThan(5);
    const line = syncLine(d.lines);
    expect(line.occurrenceReads).toBe(1); // the one-document check that no occurrence is stored
    expect(line.occurrenceQueries).toBe(0);
    expect(line.occurrenceWrites).toBeGreaterThan(40);
    const occurrences = await f.db
      .collection(paths.occurrences(f.seeded.uid, f.seeded.calendarId))
      .count()
      .get();
    expect(occurrences.data().count).toBe(line.occurrenceWrites);
    const stats = await expectSameAsRebuild();
    expect(stats.unchanged).toBe(line.occurrenceWrites);
  });

  it('a 410 resync reconciles the view without `in` queries and rewrites only what changed', async () => {
    const s = await seedCalendar();
    const d = f.deps({ config: { maxResults: 7 } });
    await runSync(d, f.seeded.subscriptionId);

    // While the token is lost: a single moves out of the window, one is deleted, the all-day series
    // is renamed (its instances change), another instance is cancelled, a new single appears.
    const singles = (
      await f.cal.events.list({ calendarId: f.seeded.calendarId, maxResults: 2500 })
    ).data
      .items!.filter((e) => !e.recurrence && !e.recurringEventId && e.summary !== 'far away')
      .slice(0, 2);
    await patch(singles[0]!.id!, {
      start: { dateTime: `${day(900)}T09:00:00Z` },
      end: { dateTime: `${day(900)}T10:00:00Z` },
    });
    await f.cal.events.delete({ calendarId: f.seeded.calendarId, eventId: singles[1]!.id! });
    await patch(s.daily.id!, { summary: 'renamed daily' });
    await f.cal.events.delete({ calendarId: f.seeded.calendarId, eventId: s.instances[8]!.id! });
    await insert({
      summary: 'new single',
      start: { dateTime: `${day(2)}T08:00:00Z` },
      end: { dateTime: `${day(2)}T09:00:00Z` },
    });
    await f.ctl.expireSyncTokens(f.seeded.calendarId);

    d.lines.length = 0;
    const res = await runSync(d, f.seeded.subscriptionId);
    expect(res).toMatchObject({ outcome: 'synced', full: true });
    const line = syncLine(d.lines);
    expect(line.occurrenceQueries).toBe(0);
    // 20 renamed all-day instances + the new single; deleted: the moved-out single, the deleted
    // single, the cancelled instance.
    expect(line.occurrenceWrites).toBe(21);
    expect(line.occurrenceDeletes).toBe(3);
    await expectSameAsRebuild();

    // A requested full resync with nothing changed writes no occurrence.
    d.lines.length = 0;
    await runSync(d, f.seeded.subscriptionId, { full: true });
    expect(syncLine(d.lines)).toMatchObject({
      full: true,
      occurrenceWrites: 0,
      occurrenceDeletes: 0,
      occurrenceQueries: 0,
    });
  });
});
