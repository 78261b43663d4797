// Recurring events end to end: exceptions, tombstones, series deletion (master alone), "this and following", and the recorded Google deltas replayed.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { calendar_v3 } from '@googleapis/calendar';
import { describe, expect, it } from 'vitest';
import type { EventsPage, GoogleEvent } from '../../../functions/calendar/api.js';
import { runSync } from '../../../functions/sync/engine.js';
import { cancelledInstance, editedInstance } from '../../fixtures/events.js';
import { emulatorsMissing } from '../../harness/env.js';
import { scriptedApi } from '../../harness/scripted-api.js';
import { syncFixture } from './helpers.js';

const FIXTURES =
  process.env.CALSYNC_REAL_FIXTURES ?? resolve(process.cwd(), '../shared/fixtures/google-real');

/** A CalendarApi that serves scripted pages: the recorded deltas, one per sync. */
const replayApi = (script: EventsPage[][]) => scriptedApi(script, 'America/Chicago', 'replay');
const lastPage = (items: GoogleEvent[], token: string, timeZone?: string): EventsPage => ({
  items,
  nextPageToken: undefined,
  nextSyncToken: token,
  timeZone,
});

describe.skipIf(emulatorsMissing() !== '')('recurring events', () => {
  const f = syncFixture({ name: 'rec', simulator: { seed: 5 }, timeZone: 'America/Chicago' });

  const daily = (summary: string, extra: Partial<calendar_v3.Schema$Event> = {}) =>
    f.insert({
      summary,
      start: { dateTime: '2026-03-02T07:30:00-06:00', timeZone: 'America/Chicago' },
      end: { dateTime: '2026-03-02T08:15:00-06:00', timeZone: 'America/Chicago' },
      recurrence: ['RRULE:FREQ=DAILY;COUNT=10'],
      ...extra,
    });

  it('master + edited exception + cancelled instance kept as a tombstone; then the series deleted', async () => {
    const d = f.deps();
    const master = await daily('standup');
    await runSync(d, f.seeded.subscriptionId);
    const moved = `${master.id}_20260303T133000Z`;
    const cancelled = `${master.id}_20260304T133000Z`;
    await f.patch(moved, {
      start: { dateTime: '2026-03-03T11:00:00-06:00' },
      end: { dateTime: '2026-03-03T11:45:00-06:00' },
    });
    await f.remove([cancelled]);
    await runSync(d, f.seeded.subscriptionId);
    let m = await f.sameAsGoogle();
    expect(m.get(moved)).toMatchObject({ recurringEventId: master.id, status: 'confirmed' });
    expect(m.get(moved)!.startAt.toDate().toISOString()).toBe('2026-03-03T17:00:00.000Z');
    expect(m.get(cancelled)).toMatchObject({ status: 'cancelled', recurringEventId: master.id });
    expect(m.get(cancelled)!.originalStartTime).toBeDefined();

    // Deleting the series: master and every stored exception / tombstone disappear.
    await f.remove([master.id!]);
    await runSync(d, f.seeded.subscriptionId);
    m = await f.sameAsGoogle();
    expect(m.size).toBe(0);
  });

  it('"this and following": the master gets UNTIL, a new series starts, later exceptions go', async () => {
    const d = f.deps();
    const master = await daily('gym');
    const late = `${master.id}_20260307T133000Z`;
    await f.rename([late], 'late gym');
    await runSync(d, f.seeded.subscriptionId);
    expect((await f.mirror()).has(late)).toBe(true);
    // What Google Calendar's UI does: end the old series, start a new one.
    await f.patch(master.id!, { recurrence: ['RRULE:FREQ=DAILY;UNTIL=20260305T055959Z'] });
    const next = await daily('gym v2', {
      start: { dateTime: '2026-03-06T09:00:00-06:00', timeZone: 'America/Chicago' },
      end: { dateTime: '2026-03-06T10:00:00-06:00', timeZone: 'America/Chicago' },
      recurrence: ['RRULE:FREQ=DAILY;COUNT=5'],
    });
    await runSync(d, f.seeded.subscriptionId);
    const m = await f.sameAsGoogle();
    expect(m.get(master.id!)!.recurrence).toEqual(['RRULE:FREQ=DAILY;UNTIL=20260305T055959Z']);
    expect(m.has(next.id!)).toBe(true);
    expect(m.has(late)).toBe(false); // its occurrence no longer exists
  });

  it('a series deleted with only the master announced removes stored exceptions and tombstones', async () => {
    const M = 'm4st3r';
    const master: GoogleEvent = {
      id: M,
      etag: '"10"',
      status: 'confirmed',
      updated: '2026-01-01T00:00:00.000Z',
      start: { dateTime: '2026-03-02T07:30:00-06:00', timeZone: 'America/Chicago' },
      end: { dateTime: '2026-03-02T08:00:00-06:00', timeZone: 'America/Chicago' },
      recurrence: ['RRULE:FREQ=DAILY'],
    };
    const exception = editedInstance(
      M,
      { dateTime: '2026-03-03T07:30:00-06:00' },
      {
        etag: '"11"',
        updated: '2026-01-01T00:00:01.000Z',
        start: { dateTime: '2026-03-03T09:00:00-06:00' },
        end: { dateTime: '2026-03-03T09:30:00-06:00' },
      },
    );
    const tombstone = cancelledInstance(
      M,
      { dateTime: '2026-03-04T07:30:00-06:00' },
      { etag: '"12"' },
    );
    const other: GoogleEvent = { ...master, id: 'other', recurrence: undefined };
    const api = replayApi([
      // The full sync lists the exceptions on a page before their master (order is unspecified).
      [
        {
          items: [exception, tombstone],
          nextPageToken: 'p2',
          nextSyncToken: undefined,
          timeZone: undefined,
        },
        lastPage([master, other], 'T1'),
      ],
      [lastPage([{ id: M, status: 'cancelled', etag: '"13"' }], 'T2')],
    ]);
    const d = f.deps({ calendarApi: () => api });
    await runSync(d, f.seeded.subscriptionId);
    expect([...(await f.mirror()).keys()].sort()).toEqual(
      [M, exception.id, tombstone.id, 'other'].sort(),
    );
    const res = await runSync(d, f.seeded.subscriptionId);
    expect(res.deletes).toBe(3);
    expect([...(await f.mirror()).keys()]).toEqual(['other']);
  });

  const recorded = existsSync(FIXTURES)
    ? readdirSync(join(FIXTURES, 'compass')).filter((f) => f.startsWith('recurring__'))
    : [];
  if (recorded.length === 0) {
    console.error(
      `\n${'!'.repeat(80)}\nREAL GOOGLE FIXTURES NOT FOUND at ${FIXTURES} — the replay of recorded deltas is SKIPPED (set CALSYNC_REAL_FIXTURES)\n${'!'.repeat(80)}\n`,
    );
  }

  it.skipIf(recorded.length === 0)(
    'replays the recorded Google deltas (compass/recurring__*) in order',
    async () => {
      // Each file holds one events.list response recorded after a real edit in Google Calendar.
      const deltas = recorded
        .map((file) => {
          const body = Object.values(
            JSON.parse(readFileSync(join(FIXTURES, 'compass', file), 'utf8')) as Record<
              string,
              unknown
            >,
          )[0] as {
            updated: string;
            items: GoogleEvent[];
            nextSyncToken: string;
            timeZone: string;
          };
          return { file, ...body };
        })
        .sort((a, b) => a.updated.localeCompare(b.updated) || a.file.localeCompare(b.file));
      const api = replayApi([
        [lastPage([], 'T0', 'America/Chicago')],
        ...deltas.map((x, i) => [lastPage(x.items, `${x.nextSyncToken}#${i}`, x.timeZone)]),
      ]);
      const d = f.deps({ calendarApi: () => api });
      for (let i = 0; i <= deltas.length; i++) {
        expect((await runSync(d, f.seeded.subscriptionId)).outcome).toBe('synced');
      }
      const m = await f.mirror();

      // Expected: the last copy of every id, minus what a later item deleted.
      const expected = new Map<string, GoogleEvent>();
      for (const x of deltas) for (const item of x.items) expected.set(item.id!, item);
      const gone = [
        '6pbua6vjeic3e73gvponeo1qp6', // series deleted, master id-only
        '0oije1knkkthb56vr149dub9qa',
        '72o12msae3t6au1lim41i8tu6j_20250328T150000Z', // tombstone, then id-only instance-shaped cancellation
      ];
      for (const id of gone) {
        expect(m.has(id)).toBe(false);
        expected.delete(id);
      }
      expect([...m.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [id, item] of expected) expect(m.get(id)!.etag, id).toBe(item.etag);
      // The cancelled exception of a live series is kept as a tombstone.
      expect(m.get('5hni4sj3ql1669otmjg7sn1mok_20250325T130000Z')).toMatchObject({
        status: 'cancelled',
        recurringEventId: '5hni4sj3ql1669otmjg7sn1mok',
      });
      // "This and following": the old master ends (UNTIL), the _R master continues.
      expect(m.get('68k0p6ackplecqs9fuvbs1fju0')!.recurrence).toEqual([
        'RRULE:FREQ=DAILY;UNTIL=20250326T045959Z',
      ]);
      expect(m.get('68k0p6ackplecqs9fuvbs1fju0_R20250326T123000')!.recurrence).toEqual([
        'RRULE:FREQ=DAILY',
      ]);
      expect(m.get('72o12msae3t6au1lim41i8tu6j')!.recurrence).toEqual([
        'RRULE:FREQ=DAILY;UNTIL=20250326T045959Z',
      ]);
      // Times: an exception moved to 12:30 CDT, then back to 07:30 by a later delta.
      expect(
        m.get('68k0p6ackplecqs9fuvbs1fju0_20250324T123000Z')!.startAt.toDate().toISOString(),
      ).toBe('2025-03-24T12:30:00.000Z');
      expect(m.size).toBe(22);
    },
  );
});
