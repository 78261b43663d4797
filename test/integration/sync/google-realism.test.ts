// What calsync must survive on the harder simulator: a calendar's time-zone change, the UI's `_R` series split, live paging, tokens invalidated by sharing.
import type { Timestamp } from '@google-cloud/firestore';
import { describe, expect, it } from 'vitest';
import { paths } from '../../../functions/store/schema.js';
import { runSync } from '../../../functions/sync/engine.js';
import { handleSyncMessage } from '../../../functions/sync/handle.js';
import { createLogger } from '../../../functions/log.js';
import { emulatorsMissing } from '../../harness/env.js';
import { insertMany, syncFixture } from './helpers.js';

const CHANNEL = { id: 'ch-real', resourceId: 'res-real' };
const DAY = 86_400_000;

/** A date `days` from now, as YYYY-MM-DD (inside the occurrence window). */
function dayFromNow(days: number): string {
  return new Date(Date.now() + days * DAY).toISOString().slice(0, 10);
}

describe.skipIf(emulatorsMissing() !== '')('Google as it really is', () => {
  const f = syncFixture({
    name: 'real',
    simulator: { seed: 41 },
    channel: CHANNEL,
    timeZone: 'Europe/Berlin',
  });
  const occurrences = async () =>
    new Map(
      (await f.db.collection(paths.occurrences(f.seeded.uid, f.seeded.calendarId)).get()).docs.map(
        (d) => [d.id, d.data()],
      ),
    );

  /** An all-day event `days` from now, synced once; its date and the deps used. */
  async function syncedAllDay(summary: string, days: number) {
    const date = dayFromNow(days);
    const allDay = await f.insert({
      summary,
      start: { date },
      end: { date: dayFromNow(days + 1) },
    });
    const d = f.deps();
    await runSync(d, f.seeded.subscriptionId);
    return { id: allDay.id!, date, d };
  }

  /** The owner moves the calendar to another zone: Google announces it, but no event changes. */
  const moveCalendarTo = (timeZone: string) =>
    f.cal.calendars.patch({ calendarId: f.seeded.calendarId, requestBody: { timeZone } });

  /** The mirror and the occurrence view hold the all-day event from `midnight` (and a day long). */
  async function expectAllDayFrom(id: string, midnight: number, o: { endToo: boolean }) {
    const mirrored = (await f.mirror()).get(id)!;
    expect((mirrored.startAt as Timestamp).toMillis()).toBe(midnight);
    if (o.endToo) expect((mirrored.endAt as Timestamp).toMillis()).toBe(midnight + DAY);
    const occ = (await occurrences()).get(id)!;
    expect((occ.startAt as Timestamp).toMillis()).toBe(midnight);
  }

  it("a calendar's time-zone change (no event delta) moves all-day startAt/endAt and all-day occurrences", async () => {
    const { id, date, d } = await syncedAllDay('holiday', 5);
    const berlinMidnight = Date.parse(`${date}T00:00:00+01:00`);
    const before = (await f.mirror()).get(id)!;
    expect((before.startAt as Timestamp).toMillis()).toBe(berlinMidnight);

    await moveCalendarTo('America/New_York');
    const res = await handleSyncMessage(d, f.notification());
    expect(res.outcome).toBe('synced');
    await expectAllDayFrom(id, Date.parse(`${date}T00:00:00-05:00`), { endToo: true });
    expect((await f.calendarDoc())!.timeZone).toBe('America/New_York');
  });

  it('a time-zone change found by a full sync (a 410 first) moves the unchanged all-day events too', async () => {
    // Soak seeds 7171 and 7365: a full listing skips events whose etag it already holds, so their
    // startAt/endAt kept the old zone's midnight while the calendar document took the new zone.
    const { id, date, d } = await syncedAllDay('trip', 8);
    await moveCalendarTo('Asia/Kolkata');
    await f.ctl.expireSyncTokens(f.seeded.calendarId);
    const res = await handleSyncMessage(d, f.notification());
    expect(res).toMatchObject({ outcome: 'synced', sync: { full: true } });
    await expectAllDayFrom(id, Date.parse(`${date}T00:00:00+05:30`), { endToo: true });
    expect((await f.calendarDoc())!.timeZone).toBe('Asia/Kolkata');
  });

  it('a worker that dies after recomputing all-day times for a zone change, before its commit, leaves nothing wrong', async () => {
    // Soak seed 7365: the zone went Kolkata → UTC → Kolkata; a worker recomputed the all-day
    // events for UTC and died before its commit, so the calendar document still said Kolkata; the
    // next run saw no change of zone and the unchanged all-day events kept UTC midnights for good.
    const { id, date, d } = await syncedAllDay('fair', 10);
    expect((await f.calendarDoc())!.timeZone).toBe('Europe/Berlin');
    await moveCalendarTo('America/Los_Angeles');
    // The worker dies right after its recompute's writes, before its commit.
    const dying = {
      ...d,
      logger: createLogger({
        level: 'INFO',
        write: (line) => {
          if (line.includes('all-day times recomputed')) throw new Error('worker died');
        },
      }),
    };
    await expect(handleSyncMessage(dying, f.notification())).rejects.toThrow();
    await moveCalendarTo('Europe/Berlin');
    const res = await handleSyncMessage(d, f.notification());
    expect(res.outcome).toBe('synced');
    await expectAllDayFrom(id, Date.parse(`${date}T00:00:00+01:00`), { endToo: false });
  });

  it("the UI's 'this and following' split (`_R` master): editing and deleting its instances update that series' occurrences", async () => {
    const start = new Date(Date.now() + 2 * DAY);
    start.setUTCHours(9, 0, 0, 0);
    const master = await f.insert({
      summary: 'standup',
      recurrence: ['RRULE:FREQ=DAILY;COUNT=10'],
      start: { dateTime: start.toISOString(), timeZone: 'UTC' },
      end: { dateTime: new Date(start.getTime() + 900_000).toISOString(), timeZone: 'UTC' },
    });
    const d = f.deps();
    await runSync(d, f.seeded.subscriptionId);
    const at = new Date(start.getTime() + 4 * DAY).toISOString();
    const splitId = await f.ctl.splitSeries(f.seeded.calendarId, master.id!, at, {
      summary: 'standup (new room)',
    });
    expect(splitId).toMatch(new RegExp(`^${master.id}_R\\d{8}T\\d{6}$`));
    await handleSyncMessage(d, f.notification());
    let occ = [...(await occurrences()).values()];
    expect(occ.filter((o) => o.eventId === master.id)).toHaveLength(4);
    expect(occ.filter((o) => o.eventId === splitId)).toHaveLength(6);

    // One instance of the split series: its id keeps the old base, its master is the _R one.
    const { data: inst } = await f.cal.events.instances({
      calendarId: f.seeded.calendarId,
      eventId: splitId,
    });
    const [first, second] = inst.items!;
    expect(first!.recurringEventId).toBe(splitId);
    expect(first!.id!.startsWith(`${master.id}_`)).toBe(true);
    await f.patch(first!.id!, { summary: 'moved standup' });
    await f.cal.events.delete({ calendarId: f.seeded.calendarId, eventId: second!.id! });
    await handleSyncMessage(d, f.notification());
    occ = [...(await occurrences()).values()];
    const ofSplit = occ.filter((o) => o.recurringEventId === splitId || o.eventId === splitId);
    expect(ofSplit).toHaveLength(5);
    expect(ofSplit.some((o) => o.summary === 'moved standup')).toBe(true);
    expect(occ.filter((o) => o.eventId === master.id)).toHaveLength(4);
    await f.sameAsGoogle();
  });

  it('live paging: an event changed mid-listing (seen twice, newer later) ends at its newest version', async () => {
    await f.ctl.setRealism({ livePaging: true });
    const ids = await insertMany(f.cal, f.seeded.calendarId, 12);
    let edited = false;
    const d = f.deps({
      config: { maxResults: 4 },
      hooks: {
        async afterPage(i) {
          if (i !== 0 || edited) return;
          edited = true;
          // Changed while the listing is on its way: it comes again on a later page.
          for (const id of ids.slice(0, 12)) {
            await f.patch(id, { summary: 'changed mid-listing' });
          }
        },
      },
    });
    expect((await runSync(d, f.seeded.subscriptionId)).outcome).toBe('synced');
    // The next delta repeats what changed since the listing began: nothing changes twice.
    expect((await handleSyncMessage(d, f.notification())).outcome).toBe('synced');
    const m = await f.sameAsGoogle();
    expect([...m.values()].filter((e) => e.summary === 'changed mid-listing')).toHaveLength(12);
  });

  it('sharing the calendar invalidates its sync tokens: the next notification resyncs by diffing', async () => {
    await f.ctl.setRealism({ aclChangesInvalidateSyncTokens: true });
    await insertMany(f.cal, f.seeded.calendarId, 5);
    const d = f.deps();
    await runSync(d, f.seeded.subscriptionId);
    await f.cal.acl.insert({
      calendarId: f.seeded.calendarId,
      requestBody: { role: 'reader', scope: { type: 'user', value: 'friend@example.com' } },
    });
    const res = await handleSyncMessage(d, f.notification());
    expect(res.outcome).toBe('synced');
    expect(res.sync!.full).toBe(true);
    expect(res.sync!.writes).toBe(0); // a diff: nothing rewritten
    await f.sameAsGoogle();
  });
});
