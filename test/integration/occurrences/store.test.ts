// The occurrence writer on the Firestore emulator: write counts, idempotence, crash repair, window roll, a live week query.
import type { QuerySnapshot } from '@google-cloud/firestore';
import { Timestamp } from '@google-cloud/firestore';
import { beforeEach, describe, expect, it } from 'vitest';
import type { GoogleEvent } from '../../../functions/calendar/api.js';
import { createLogger } from '../../../functions/log.js';
import { occurrenceWindow } from '../../../functions/occurrences/model.js';
import { rollOccurrenceWindow } from '../../../functions/occurrences/roll.js';
import { rebuildOccurrences } from '../../../functions/occurrences/rebuild.js';
import { refreshOccurrences } from '../../../functions/occurrences/store.js';
import { paths } from '../../../functions/store/schema.js';
import { cancelledInstance, editedInstance } from '../../fixtures/events.js';
import { emulatorsMissing } from '../../harness/env.js';
import { countFirestore } from '../../harness/firestore-counter.js';
import { firestoreFixture } from '../../harness/fixtures.js';
import {
  changedBetween,
  deleteEvent,
  iso,
  ny,
  occurrenceDocs,
  putEvent,
  updateTimes,
  weekly,
  type Cal,
} from './helpers.js';

const NOW = Date.UTC(2026, 5, 15, 12); // window [2026-05-16, 2027-06-16)
const WINDOW = occurrenceWindow(NOW, { daysBack: 30, daysAhead: 365 });
/** Mondays from 2026-05-18 to 2027-06-14. */
const WEEKLY_IN_WINDOW = 57;

describe.skipIf(emulatorsMissing() !== '')('occurrence writer', () => {
  const fs = firestoreFixture('occ');
  let cal: Cal;
  let n = 0;

  beforeEach(() => {
    cal = { uid: `u${++n}`, calendarId: `cal${n}@example.com` };
  });

  const refresh = (ids: string[], window = WINDOW) =>
    refreshOccurrences(fs.db, cal, ids, {
      window,
      calendarTimeZone: 'America/New_York',
      logger: createLogger({ write: () => undefined }),
    });

  /** Stores series `seriesId`'s instance of `original` (New York time) moved to `[start, end]` and renamed. */
  const moveInstance = (
    seriesId: string,
    original: string,
    summary: string,
    [start, end]: [string, string],
    over: Partial<GoogleEvent> = {},
  ) =>
    putEvent(
      fs.db,
      cal,
      editedInstance(seriesId, ny(original), { summary, start: ny(start), end: ny(end), ...over }),
    );

  it('a weekly series fills the window; re-running with nothing changed writes nothing', async () => {
    await putEvent(fs.db, cal, weekly('wk'));
    await putEvent(fs.db, cal, {
      id: 'lunch',
      status: 'confirmed',
      summary: 'Lunch',
      start: { dateTime: '2026-06-20T12:00:00-04:00' },
      end: { dateTime: '2026-06-20T13:00:00-04:00' },
    });
    const first = await refresh(['wk', 'lunch']);
    expect(first).toMatchObject({ writes: WEEKLY_IN_WINDOW + 1, deletes: 0, unchanged: 0 });
    const docs = await occurrenceDocs(fs.db, cal);
    expect(docs[0]).toMatchObject({
      id: 'wk_20260518T140000Z',
      eventId: 'wk',
      summary: 'Weekly sync',
    });
    expect(iso(docs[0]!.startAt)).toBe('2026-05-18T14:00:00.000Z');
    // Winter instances keep 10:00 New York time (15:00Z).
    expect(docs.find((d) => d.id === 'wk_20261207T150000Z')).toBeDefined();

    const before = await updateTimes(fs.db, cal);
    const again = await refresh(['wk', 'lunch']);
    expect(again).toMatchObject({ writes: 0, deletes: 0, unchanged: WEEKLY_IN_WINDOW + 1 });
    expect(changedBetween(before, await updateTimes(fs.db, cal))).toEqual({
      created: [],
      updated: [],
      deleted: [],
    });
  });

  it('editing one instance writes one document; cancelling one deletes one', async () => {
    await putEvent(fs.db, cal, weekly('wk'));
    await putEvent(fs.db, cal, weekly('other', { summary: 'Other series' }));
    await refresh(['wk', 'other']);
    const before = await updateTimes(fs.db, cal);

    await moveInstance(
      'wk',
      '2026-06-22T10:00:00-04:00',
      'Weekly sync (moved to Tuesday)',
      ['2026-06-23T15:00:00-04:00', '2026-06-23T15:30:00-04:00'],
      { etag: '"101"', updated: '2026-06-10T00:00:00.000Z' },
    );
    // The worker passes the page's ids: the exception's series.
    const edit = await refresh(['wk']);
    expect(edit).toMatchObject({ writes: 1, deletes: 0, unchanged: WEEKLY_IN_WINDOW - 1 });
    const afterEdit = await updateTimes(fs.db, cal);
    expect(changedBetween(before, afterEdit)).toEqual({
      created: [],
      updated: ['wk_20260622T140000Z'],
      deleted: [],
    });
    const moved = (await occurrenceDocs(fs.db, cal)).find((d) => d.id === 'wk_20260622T140000Z')!;
    expect(iso(moved.startAt)).toBe('2026-06-23T19:00:00.000Z');
    expect(moved.sourceEventId).toBe('wk_20260622T140000Z');

    await putEvent(fs.db, cal, cancelledInstance('wk', ny('2026-06-29T10:00:00-04:00')));
    const cancel = await refresh(['wk']);
    expect(cancel).toMatchObject({ writes: 0, deletes: 1 });
    expect(changedBetween(afterEdit, await updateTimes(fs.db, cal))).toEqual({
      created: [],
      updated: [],
      deleted: ['wk_20260629T140000Z'],
    });
  });

  it("editing a weekly series rewrites that series' occurrences in the window, nothing else", async () => {
    await putEvent(fs.db, cal, weekly('wk'));
    await putEvent(fs.db, cal, weekly('other', { summary: 'Other series' }));
    await refresh(['wk', 'other']);
    const before = await updateTimes(fs.db, cal);

    await putEvent(
      fs.db,
      cal,
      weekly('wk', {
        summary: 'Weekly sync (renamed)',
        etag: '"102"',
        updated: '2026-06-11T00:00:00.000Z',
      }),
    );
    const stats = await refresh(['wk']);
    expect(stats).toMatchObject({ writes: WEEKLY_IN_WINDOW, deletes: 0 });
    const changed = changedBetween(before, await updateTimes(fs.db, cal));
    expect(changed.updated).toHaveLength(WEEKLY_IN_WINDOW);
    expect(changed.updated.every((id) => id.startsWith('wk_'))).toBe(true);
    expect(changed.created).toEqual([]);
    expect(changed.deleted).toEqual([]);
  });

  it('a deleted series (master and exceptions gone) loses every occurrence', async () => {
    await putEvent(fs.db, cal, weekly('wk'));
    await refresh(['wk']);
    await deleteEvent(fs.db, cal, 'wk');
    expect(await refresh(['wk'])).toMatchObject({ writes: 0, deletes: WEEKLY_IN_WINDOW });
    expect(await occurrenceDocs(fs.db, cal)).toEqual([]);
  });

  it('repairs from stored state after a crash: ids of unchanged events, a half-written series', async () => {
    await putEvent(fs.db, cal, weekly('wk'));
    await refresh(['wk']);
    const col = fs.db.collection(paths.occurrences(cal.uid, cal.calendarId));
    // A crash left one document missing, one stale and one that should not exist.
    await col.doc('wk_20260518T140000Z').delete();
    await col.doc('wk_20260525T140000Z').update({ summary: 'stale' });
    await col.doc('wk_20300101T150000Z').set({ eventId: 'wk', startAt: Timestamp.now() });
    expect(await refresh(['wk'])).toMatchObject({ writes: 2, deletes: 1 });
    expect(await refresh(['wk'])).toMatchObject({ writes: 0, deletes: 0 });
  });

  it('a series calsync cannot expand keeps its occurrences and does not fail the others', async () => {
    await putEvent(fs.db, cal, weekly('wk'));
    await putEvent(fs.db, cal, weekly('ok', { summary: 'OK' }));
    await refresh(['wk', 'ok']);
    await putEvent(fs.db, cal, weekly('wk', { recurrence: ['RRULE:FREQ=SOMETIMES'] }));
    await putEvent(
      fs.db,
      cal,
      weekly('ok', { summary: 'OK, renamed', updated: '2026-06-12T00:00:00.000Z' }),
    );
    expect(await refresh(['wk', 'ok'])).toMatchObject({ writes: WEEKLY_IN_WINDOW, deletes: 0 });
    expect((await occurrenceDocs(fs.db, cal)).length).toBe(2 * WEEKLY_IN_WINDOW);
  });

  it('an id that names a stored exception is redirected to its series', async () => {
    await putEvent(fs.db, cal, weekly('wk'));
    await putEvent(fs.db, cal, cancelledInstance('wk', ny('2026-06-01T10:00:00-04:00')));
    const stats = await refresh(['wk_20260601T140000Z']);
    expect(stats.writes).toBe(WEEKLY_IN_WINDOW - 1);
  });

  it('rebuild recomputes a whole calendar, including orphaned occurrence docs', async () => {
    await putEvent(fs.db, cal, weekly('wk'));
    await putEvent(fs.db, cal, weekly('b', { summary: 'B' }));
    await putEvent(fs.db, cal, {
      id: 'single',
      status: 'confirmed',
      start: { dateTime: '2026-07-01T12:00:00Z' },
      end: { dateTime: '2026-07-01T13:00:00Z' },
    });
    // 'was' used to be a series and is now a single: its instance docs must go.
    await putEvent(fs.db, cal, weekly('was', { recurrence: ['RRULE:FREQ=WEEKLY;COUNT=60'] }));
    await refresh(['was']);
    await putEvent(
      fs.db,
      cal,
      weekly('was', {
        recurrence: [],
        start: { dateTime: '2026-07-02T12:00:00Z' },
        end: { dateTime: '2026-07-02T13:00:00Z' },
      }),
    );
    await fs.db
      .collection(paths.occurrences(cal.uid, cal.calendarId))
      .doc('gone')
      .set({ eventId: 'gone', startAt: Timestamp.fromMillis(NOW) });
    const stats = await rebuildOccurrences(fs.db, cal, {
      window: WINDOW,
      calendarTimeZone: 'America/New_York',
    });
    // Two series, two singles written; the orphan and 'was'' old instances deleted.
    const wasInstances = 60 - 19; // Mondays from 2026-01-05: the first 19 are before the window
    expect(stats).toMatchObject({ writes: 2 * WEEKLY_IN_WINDOW + 2, deletes: 1 + wasInstances });
    expect(
      await rebuildOccurrences(fs.db, cal, {
        window: WINDOW,
        calendarTimeZone: 'America/New_York',
      }),
    ).toMatchObject({ writes: 0, deletes: 0 });
  });

  it('the window roll drops what ended before the window and adds what enters it', async () => {
    const daily = weekly('daily', {
      summary: 'Standup',
      recurrence: ['RRULE:FREQ=DAILY'],
    });
    await putEvent(fs.db, cal, daily);
    // A single just beyond today's window end, entering tomorrow; one leaving tomorrow.
    await putEvent(fs.db, cal, {
      id: 'far',
      status: 'confirmed',
      start: { dateTime: '2027-06-16T12:00:00Z' },
      end: { dateTime: '2027-06-16T13:00:00Z' },
    });
    await putEvent(fs.db, cal, {
      id: 'old',
      status: 'confirmed',
      start: { dateTime: '2026-05-16T12:00:00Z' },
      end: { dateTime: '2026-05-16T13:00:00Z' },
    });
    expect(await refresh(['far', 'old'])).toMatchObject({ writes: 1 }); // 'far' is not in yet
    const first = await rollOccurrenceWindow(fs.db, cal.uid, cal.calendarId, NOW, {
      calendarTimeZone: 'America/New_York',
    });
    expect(first).toMatchObject({ writes: 396, expired: 0 }); // every day of the window
    const before = await updateTimes(fs.db, cal);

    const tomorrow = NOW + 24 * 3600 * 1000;
    const rolled = await rollOccurrenceWindow(fs.db, cal.uid, cal.calendarId, tomorrow, {
      calendarTimeZone: 'America/New_York',
    });
    const changed = changedBetween(before, await updateTimes(fs.db, cal));
    expect(changed).toEqual({
      created: ['daily_20270616T140000Z', 'far'],
      updated: [],
      deleted: ['daily_20260516T140000Z', 'old'],
    });
    expect(rolled.expired).toBe(2);

    const again = await rollOccurrenceWindow(fs.db, cal.uid, cal.calendarId, tomorrow, {
      calendarTimeZone: 'America/New_York',
    });
    expect(again).toMatchObject({ writes: 0, deletes: 0, expired: 0 });
  });

  it('a one-day roll reads and writes only what the day moved: series with nothing entering cost no occurrence reads', async () => {
    // Ten Monday series (nothing enters on Wednesday 2027-06-16, nothing leaves on Saturday
    // 2026-05-16), a daily series (one instance enters, one leaves), an instance of a weekly series
    // moved onto the entering day, and a single on it.
    const series = Array.from({ length: 10 }, (_, i) => weekly(`w${i}`, { summary: `W${i}` }));
    for (const e of series) await putEvent(fs.db, cal, e);
    await putEvent(fs.db, cal, weekly('daily', { recurrence: ['RRULE:FREQ=DAILY'] }));
    await moveInstance('w0', '2027-06-07T10:00:00-04:00', 'Moved in', [
      '2027-06-16T09:00:00-04:00',
      '2027-06-16T09:30:00-04:00',
    ]);
    await putEvent(fs.db, cal, {
      id: 'entering',
      status: 'confirmed',
      start: { dateTime: '2027-06-16T15:00:00Z' },
      end: { dateTime: '2027-06-16T16:00:00Z' },
    });
    const opts = { calendarTimeZone: 'America/New_York' };
    await rollOccurrenceWindow(fs.db, cal.uid, cal.calendarId, NOW, opts);
    const before = await updateTimes(fs.db, cal);

    const tomorrow = NOW + 24 * 3600 * 1000;
    const counter = countFirestore();
    let rolled;
    try {
      rolled = await rollOccurrenceWindow(fs.db, cal.uid, cal.calendarId, tomorrow, {
        ...opts,
        rolledThrough: WINDOW.end,
      });
    } finally {
      counter.stop();
    }
    const changed = changedBetween(before, await updateTimes(fs.db, cal));
    expect(changed).toEqual({
      created: ['daily_20270616T140000Z', 'entering', 'w0_20270607T140000Z'],
      updated: [],
      deleted: ['daily_20260516T140000Z'],
    });
    expect(rolled.expired).toBe(1);
    // Writes: exactly the three entering occurrences and the one leaving.
    expect(counter.writes).toBe(4);
    // Reads: the series (found, then read in their transaction), their exceptions, the entering
    // day's documents and a few empty queries — not the 10 × 57 + 396 stored occurrences.
    expect(counter.reads).toBeLessThanOrEqual(2 * 11 + 12);

    // The same as recomputing every series in tomorrow's window.
    const full = await rollOccurrenceWindow(fs.db, cal.uid, cal.calendarId, tomorrow, opts);
    expect(full).toMatchObject({ writes: 0, deletes: 0, expired: 0 });
  });

  it("a week's startAt range query updates live as instances move and are cancelled", async () => {
    await putEvent(fs.db, cal, weekly('wk'));
    await putEvent(
      fs.db,
      cal,
      weekly('fri', { summary: 'Friday', recurrence: ['RRULE:FREQ=WEEKLY;BYDAY=FR'] }),
    );
    await refresh(['wk', 'fri']);
    const weekStart = Timestamp.fromDate(new Date('2026-06-22T04:00:00Z')); // Mon 00:00 New York
    const weekEnd = Timestamp.fromDate(new Date('2026-06-29T04:00:00Z'));
    const query = fs.db
      .collection(paths.occurrences(cal.uid, cal.calendarId))
      .where('startAt', '>=', weekStart)
      .where('startAt', '<', weekEnd)
      .orderBy('startAt');
    const snapshots: QuerySnapshot[] = [];
    let wake: () => void = () => undefined;
    const unsubscribe = query.onSnapshot((s) => {
      snapshots.push(s);
      wake();
    });
    const next = async (count: number) => {
      while (snapshots.length < count) await new Promise<void>((r) => (wake = r));
      return snapshots[count - 1]!.docs.map((d) => [d.id, d.get('summary') as string]);
    };
    try {
      expect(await next(1)).toEqual([
        ['wk_20260622T140000Z', 'Weekly sync'],
        ['fri_20260626T140000Z', 'Friday'],
      ]);
      // Friday's instance moves to Wednesday of that week.
      await moveInstance('fri', '2026-06-26T10:00:00-04:00', 'Friday (on Wednesday)', [
        '2026-06-24T10:00:00-04:00',
        '2026-06-24T10:30:00-04:00',
      ]);
      await refresh(['fri']);
      expect(await next(2)).toEqual([
        ['wk_20260622T140000Z', 'Weekly sync'],
        ['fri_20260626T140000Z', 'Friday (on Wednesday)'],
      ]);
      // Next week's Monday is moved into this week (Sunday), this week's Monday is cancelled.
      await moveInstance('wk', '2026-06-29T10:00:00-04:00', 'Weekly sync (early)', [
        '2026-06-28T10:00:00-04:00',
        '2026-06-28T10:30:00-04:00',
      ]);
      await putEvent(fs.db, cal, cancelledInstance('wk', ny('2026-06-22T10:00:00-04:00')));
      await refresh(['wk']);
      const deadline = Date.now() + 10_000;
      let latest = await next(snapshots.length);
      while (
        JSON.stringify(latest) !==
          JSON.stringify([
            ['fri_20260626T140000Z', 'Friday (on Wednesday)'],
            ['wk_20260629T140000Z', 'Weekly sync (early)'],
          ]) &&
        Date.now() < deadline
      ) {
        latest = await next(snapshots.length + 1);
      }
      expect(latest).toEqual([
        ['fri_20260626T140000Z', 'Friday (on Wednesday)'],
        ['wk_20260629T140000Z', 'Weekly sync (early)'],
      ]);
    } finally {
      unsubscribe();
    }
  });
});
