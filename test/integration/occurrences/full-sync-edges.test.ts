// A full sync's occurrence view when the listing is untidy: an id listed twice, exceptions before their master, a single turned series, a series cancelled mid-listing, exceptions without a master.
import { describe, expect, it } from 'vitest';
import type { GoogleEvent } from '../../../functions/calendar/api.js';
import { occurrenceWindow } from '../../../functions/occurrences/model.js';
import { rebuildOccurrences } from '../../../functions/occurrences/rebuild.js';
import { runSync } from '../../../functions/sync/engine.js';
import { emulatorsMissing } from '../../harness/env.js';
import { firestoreFixture } from '../../harness/fixtures.js';
import { listing, scriptedApi } from '../../harness/scripted-api.js';
import { seedSubscription, testDeps } from '../sync/helpers.js';
import { occurrenceDocs, weekly } from './helpers.js';

const NOW = Date.UTC(2026, 5, 15, 12); // window [2026-05-16, 2027-06-16)
const TZ = 'America/New_York';

const single = (id: string, day: string, over: Partial<GoogleEvent> = {}): GoogleEvent => ({
  id,
  kind: 'calendar#event',
  etag: '"1"',
  status: 'confirmed',
  summary: id,
  updated: '2026-06-01T00:00:00.000Z',
  start: { dateTime: `${day}T12:00:00-04:00` },
  end: { dateTime: `${day}T13:00:00-04:00` },
  ...over,
});

const exception = (master: string, original: string, over: Partial<GoogleEvent> = {}) =>
  single(`${master}_${original.replace(/[-:]/g, '').replace('.000', '')}`, '2026-07-01', {
    recurringEventId: master,
    originalStartTime: { dateTime: original, timeZone: TZ },
    ...over,
  });

describe.skipIf(emulatorsMissing() !== '')('full sync occurrences over an untidy listing', () => {
  const fs = firestoreFixture('occedge');

  it('equals a rebuild from the mirror after a first sync and after a full resync', async () => {
    const db = fs.db;
    const seeded = await seedSubscription(db, {
      uid: 'edge',
      calendarId: 'edge@example.com',
      refreshToken: 'rt-edge',
    });
    const cal = { uid: seeded.uid, calendarId: seeded.calendarId };
    const first: GoogleEvent[][] = [
      [
        exception('wk', '2026-06-22T14:00:00.000Z', { summary: 'moved', etag: '"5"' }),
        exception('wk', '2026-06-29T14:00:00.000Z', { status: 'cancelled', etag: '"6"' }),
        single('lunch', '2026-06-20'),
        single('conv', '2026-06-21'),
        exception('gone', '2026-06-23T14:00:00.000Z'),
      ],
      [
        weekly('wk'),
        // Listed again, changed meanwhile (Google's live paging).
        single('lunch', '2026-06-27', { etag: '"2"', updated: '2026-06-02T00:00:00.000Z' }),
        exception('inv', '2026-07-01T15:00:00.000Z', { summary: 'invited to one' }),
      ],
      [
        weekly('conv', { etag: '"3"', updated: '2026-06-03T00:00:00.000Z' }),
        { ...weekly('gone'), status: 'cancelled', etag: '"9"' },
        single('far', '2028-01-01'),
        weekly('daily', { recurrence: ['RRULE:FREQ=DAILY;COUNT=5'] }),
      ],
    ];
    const resync: GoogleEvent[][] = [
      [
        weekly('conv', { etag: '"3"', updated: '2026-06-03T00:00:00.000Z' }),
        single('far', '2026-08-01', { etag: '"2"', updated: '2026-06-05T00:00:00.000Z' }),
        exception('wk', '2026-06-22T14:00:00.000Z', { summary: 'moved again', etag: '"7"' }),
      ],
      [
        weekly('wk', {
          recurrence: ['RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20260713T000000Z'],
          etag: '"101"',
          updated: '2026-06-04T00:00:00.000Z',
        }),
      ],
    ];
    const api = scriptedApi([listing(first, 'S0', TZ), listing(resync, 'S1', TZ)], TZ, 'edges');
    const d = testDeps(db, 'http://127.0.0.1:9', {
      calendarApi: () => api,
      clock: () => NOW,
    });
    const window = occurrenceWindow(NOW, { daysBack: 30, daysAhead: 365 });
    const rebuild = () => rebuildOccurrences(db, cal, { window, calendarTimeZone: TZ });

    await runSync(d, seeded.subscriptionId);
    let docs = await occurrenceDocs(db, cal);
    const ids = docs.map((o) => String(o.id));
    expect(ids).toContain('lunch');
    expect(ids).toContain('wk_20260622T140000Z');
    expect(ids).not.toContain('wk_20260629T140000Z');
    expect(ids).not.toContain('conv'); // now a series
    expect(ids.filter((id) => id.startsWith('conv_'))).not.toHaveLength(0);
    expect(ids.filter((id) => id.startsWith('gone'))).toEqual([]);
    expect(ids).toContain('inv_20260701T150000Z');
    expect(docs.find((o) => o.id === 'lunch')).toMatchObject({ summary: 'lunch' });
    expect((await rebuild()).writes + (await rebuild()).deletes).toBe(0);

    await runSync(d, seeded.subscriptionId, { full: true });
    docs = await occurrenceDocs(db, cal);
    // Mondays 2026-05-18 … 07-06; the cancelled 06-29 is back (its tombstone is gone from Google).
    expect(docs.map((o) => String(o.id)).filter((id) => id.startsWith('wk_'))).toHaveLength(8);
    expect(docs.find((o) => o.id === 'wk_20260622T140000Z')).toMatchObject({
      summary: 'moved again',
    });
    expect(docs.find((o) => o.id === 'far')).toBeDefined();
    expect(docs.find((o) => o.id === 'lunch')).toBeUndefined();
    const stats = await rebuild();
    expect({ writes: stats.writes, deletes: stats.deletes }).toEqual({ writes: 0, deletes: 0 });
  });
});
