// Conformance (issue 18, point 4): ids only Google makes — the UI's "this and following" split
// (`<base>_R<date>` master, instances `<base>_<date>Z` with recurringEventId = the `_R` master) and
// events.import (ids starting with `_`). Shapes from the recorded fixtures cited in
// test/simulator/series-split.ts (compass recurring__edit__this-and-following-*,
// northworld/cancelled_events.json) and odoo/odoo#18180 (imported ids).
import { describe, expect, it } from 'vitest';
import { simulatorUserFixture } from '../../harness/fixtures.js';
import { listAll } from './helpers.js';

describe('ids only Google makes', () => {
  const email = 'ids@example.com';
  const google = simulatorUserFixture({
    simulator: { seed: 4 },
    user: { email: email, refreshToken: 'rt-ids' },
  });

  async function dishes(): Promise<string> {
    const data = await google.insert({
      summary: '🍽️ Dishes',
      start: { dateTime: '2025-03-24T07:30:00-05:00', timeZone: 'America/Chicago' },
      end: { dateTime: '2025-03-24T08:15:00-05:00', timeZone: 'America/Chicago' },
      recurrence: ['RRULE:FREQ=DAILY'],
    });
    return data.id!;
  }

  it('"this and following" in the UI: `_R` master with a new iCalUID; later exceptions move to it with their ids', async () => {
    const base = await dishes();
    // An edited and a cancelled occurrence after the split point, one edit before it.
    await google.patch(`${base}_20250325T123000Z`, { summary: 'before the split' });
    await google.patch(`${base}_20250328T123000Z`, { summary: 'edited' });
    await google.cal.events.delete({ calendarId: 'primary', eventId: `${base}_20250329T123000Z` });
    const { syncToken } = await listAll(google.cal, {});

    const rId = await google.ctl.splitSeries(email, base, `${base}_20250327T123000Z`, {
      summary: '🧽 Dishes',
    });
    expect(rId).toBe(`${base}_R20250327T123000`);

    const delta = new Map((await listAll(google.cal, { syncToken })).items.map((e) => [e.id!, e]));
    // The old master ends the night before the split day (local midnight - 1 s, in UTC).
    expect(delta.get(base)!.recurrence).toEqual(['RRULE:FREQ=DAILY;UNTIL=20250327T045959Z']);
    expect(delta.get(rId)).toMatchObject({
      summary: '🧽 Dishes',
      recurrence: ['RRULE:FREQ=DAILY'],
      iCalUID: `${rId}@google.com`,
      start: { dateTime: '2025-03-27T07:30:00-05:00', timeZone: 'America/Chicago' },
    });
    expect(delta.get(rId)!.created).toBe(delta.get(base)!.created);
    // Exceptions after the split keep their `<base>_<date>Z` ids and now belong to the `_R` master.
    expect(delta.get(`${base}_20250328T123000Z`)).toMatchObject({
      summary: 'edited',
      recurringEventId: rId,
    });
    expect(delta.get(`${base}_20250329T123000Z`)).toMatchObject({
      status: 'cancelled',
      recurringEventId: rId,
    });
    expect(delta.has(`${base}_20250325T123000Z`)).toBe(false);

    // Expanded: instances before the split belong to the base, after it to `_R`, same id scheme.
    const window = { timeMin: '2025-03-25T00:00:00Z', timeMax: '2025-03-31T00:00:00Z' };
    const single = await listAll(google.cal, {
      ...window,
      singleEvents: true,
      orderBy: 'startTime',
    });
    expect(single.items.map((e) => [e.id, e.recurringEventId])).toEqual([
      [`${base}_20250325T123000Z`, base],
      [`${base}_20250326T123000Z`, base],
      [`${base}_20250327T123000Z`, rId],
      [`${base}_20250328T123000Z`, rId],
      [`${base}_20250330T123000Z`, rId],
    ]);
  });

  it('instances of a `_R` series are read, edited and cancelled by their `<base>_<date>Z` ids', async () => {
    const base = await dishes();
    const rId = await google.ctl.splitSeries(email, base, '2025-03-27T07:30:00-05:00');
    const { syncToken } = await listAll(google.cal, {});
    const got = await google.cal.events.get({
      calendarId: 'primary',
      eventId: `${base}_20250401T123000Z`,
    });
    expect(got.data).toMatchObject({ id: `${base}_20250401T123000Z`, recurringEventId: rId });
    await google.patch(`${base}_20250402T123000Z`, { location: 'kitchen' });
    await google.cal.events.delete({ calendarId: 'primary', eventId: `${base}_20250403T123000Z` });
    const delta = new Map((await listAll(google.cal, { syncToken })).items.map((e) => [e.id!, e]));
    expect(delta.get(`${base}_20250402T123000Z`)).toMatchObject({
      location: 'kitchen',
      recurringEventId: rId,
      originalStartTime: { dateTime: '2025-04-02T07:30:00-05:00' },
    });
    expect(delta.get(`${base}_20250403T123000Z`)).toEqual({
      kind: 'calendar#event',
      etag: expect.any(String),
      id: `${base}_20250403T123000Z`,
      status: 'cancelled',
      recurringEventId: rId,
      originalStartTime: { dateTime: '2025-04-03T07:30:00-05:00', timeZone: 'America/Chicago' },
    });
    // The `_R` master itself is re-sent with each instance change, as masters are.
    expect(delta.has(rId)).toBe(true);
    // Splitting at the first occurrence is editing the whole series: refused.
    await expect(google.ctl.splitSeries(email, base, `${base}_20250324T123000Z`)).rejects.toThrow(
      /400/,
    );
  });

  it('events.import: the id is `_` + base32hex(iCalUID); importing the same iCalUID again updates it', async () => {
    const iCalUID = '040000008200E00074C5B7101A82E008@outlook.com';
    const body = {
      iCalUID,
      summary: 'From Outlook',
      organizer: { email: 'boss@outlook.com' },
      start: { dateTime: '2025-05-01T10:00:00Z' },
      end: { dateTime: '2025-05-01T11:00:00Z' },
    };
    const first = await google.cal.events.import({ calendarId: 'primary', requestBody: body });
    const id = first.data.id!;
    expect(id).toBe(`_${base32hex(iCalUID)}`);
    expect(id).toMatch(/^_[a-v0-9]+$/);
    expect(first.data).toMatchObject({ iCalUID, organizer: { email: 'boss@outlook.com' } });
    const { syncToken } = await listAll(google.cal, {});
    const again = await google.cal.events.import({
      calendarId: 'primary',
      requestBody: { ...body, summary: 'From Outlook (moved)' },
    });
    expect(again.data.id).toBe(id);
    const delta = await listAll(google.cal, { syncToken });
    expect(delta.items.map((e) => [e.id, e.summary])).toEqual([[id, 'From Outlook (moved)']]);
    // Instances of an imported series carry the `_` id too.
    const series = await google.cal.events.import({
      calendarId: 'primary',
      requestBody: {
        iCalUID: 'weekly-1@example.org',
        start: { dateTime: '2025-05-05T09:00:00Z', timeZone: 'UTC' },
        end: { dateTime: '2025-05-05T09:30:00Z', timeZone: 'UTC' },
        recurrence: ['RRULE:FREQ=WEEKLY;COUNT=2'],
      },
    });
    const instances = await google.cal.events.instances({
      calendarId: 'primary',
      eventId: series.data.id!,
    });
    expect(instances.data.items?.map((e) => e.id)).toEqual([
      `${series.data.id}_20250505T090000Z`,
      `${series.data.id}_20250512T090000Z`,
    ]);
    // Import requires an iCalUID.
    await expect(
      google.cal.events.import({
        calendarId: 'primary',
        requestBody: { ...body, iCalUID: undefined },
      }),
    ).rejects.toMatchObject({ status: 400 });
  });
});

/** RFC 4648 base32hex, lowercase, unpadded (independent of the simulator's implementation). */
function base32hex(s: string): string {
  const bits = [...Buffer.from(s, 'utf8')].map((b) => b.toString(2).padStart(8, '0')).join('');
  let out = '';
  for (let i = 0; i < bits.length; i += 5)
    out += '0123456789abcdefghijklmnopqrstuv'[parseInt(bits.slice(i, i + 5).padEnd(5, '0'), 2)];
  return out;
}
