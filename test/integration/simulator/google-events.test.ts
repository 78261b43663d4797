// Conformance (issue 18, point 7): events as untidy as real ones, and access roles enforced.
// Sources: fixture northworld/cancelled_events.json (a cancelled instance whose originalStartTime
// has no timeZone); CALENDAR-API.md "The Event resource" (creator, organizer, reminders may be
// absent; treat every field but id as optional); AclRule.role in the discovery document ("reader …
// Private events will appear to users with reader access, but event details will be hidden");
// a recorded events.list answer for a freeBusyReader calendar (cited in event-model.ts busyBlock);
// 403 requiredAccessLevel as public clients record it (cited in events.ts).
import { describe, expect, it } from 'vitest';
import { googleCalendar } from '../../simulator/client.js';
import { simulatorUserFixture } from '../../harness/fixtures.js';
import { listAll, googleErrorBody } from './helpers.js';

const day = (d: number) => ({
  start: { dateTime: `2025-04-${String(d).padStart(2, '0')}T10:00:00Z` },
  end: { dateTime: `2025-04-${String(d).padStart(2, '0')}T11:00:00Z` },
});

describe('untidy events and access roles', () => {
  const owner = 'untidy@example.com';
  const google = simulatorUserFixture({
    simulator: { seed: 21 },
    user: { email: owner, refreshToken: 'rt-u' },
  });

  it('untidyEvents: some events lack creator, organizer, reminders or iCalUID; cancelled instances lack originalStartTime.timeZone', async () => {
    for (let d = 1; d <= 25; d++) await google.insert({ summary: `e${d}`, ...day(d) });
    const series = await google.insert({
      summary: 'weekly',
      start: { dateTime: '2025-04-01T09:00:00+02:00', timeZone: 'Europe/Berlin' },
      end: { dateTime: '2025-04-01T10:00:00+02:00', timeZone: 'Europe/Berlin' },
      recurrence: ['RRULE:FREQ=WEEKLY;COUNT=4'],
    });
    await google.cal.events.delete({
      calendarId: 'primary',
      eventId: `${series.id}_20250408T070000Z`,
    });
    const tidy = await listAll(google.cal, {});
    for (const e of tidy.items.filter((x) => x.status !== 'cancelled'))
      expect(e).toHaveProperty('creator');
    expect(tidy.items.find((e) => e.status === 'cancelled')!.originalStartTime).toEqual({
      dateTime: '2025-04-08T09:00:00+02:00',
      timeZone: 'Europe/Berlin',
    });

    await google.ctl.setRealism({ untidyEvents: true });
    const { items } = await listAll(google.cal, {});
    const live = items.filter((e) => e.status !== 'cancelled');
    for (const field of ['creator', 'organizer', 'reminders', 'iCalUID'] as const) {
      const lacking = live.filter((e) => e[field] === undefined).length;
      expect(lacking, field).toBeGreaterThan(0);
      expect(lacking, field).toBeLessThan(live.length);
    }
    // The same event looks the same through get.
    const sample = live.find((e) => e.creator === undefined)!;
    const got = await google.cal.events.get({ calendarId: 'primary', eventId: sample.id! });
    expect(got.data.creator).toBeUndefined();
    // The northworld shape: a cancelled instance, originalStartTime without timeZone.
    expect(items.find((e) => e.status === 'cancelled')).toEqual({
      kind: 'calendar#event',
      etag: expect.any(String),
      id: `${series.id}_20250408T070000Z`,
      status: 'cancelled',
      recurringEventId: series.id,
      originalStartTime: { dateTime: '2025-04-08T09:00:00+02:00' },
    });
  });

  it('enforceAccessRoles: readers cannot write (403 requiredAccessLevel); a freeBusyReader sees busy blocks only', async () => {
    await google.ctl.createUser('reader@example.com', 'rt-r');
    await google.ctl.createUser('fb@example.com', 'rt-fb');
    await google.insert({ summary: 'Dentist', location: 'Main St', ...day(2) });
    await google.insert({ summary: 'Secret', visibility: 'private', ...day(3) });
    await google.ctl.shareCalendar(owner, 'reader@example.com', 'reader');
    await google.ctl.shareCalendar(owner, 'fb@example.com', 'freeBusyReader');
    const reader = googleCalendar(google.sim.url, 'rt-r').calendar;
    const fb = googleCalendar(google.sim.url, 'rt-fb').calendar;
    // Default (kind): a reader may write.
    expect(
      (await reader.events.insert({ calendarId: owner, requestBody: { summary: 'x', ...day(4) } }))
        .status,
    ).toBe(200);

    await google.ctl.setRealism({ enforceAccessRoles: true });
    const err = (await reader.events
      .insert({ calendarId: owner, requestBody: { summary: 'y', ...day(5) } })
      .catch((e: unknown) => e)) as { status: number; response: { data: unknown } };
    expect(err.status).toBe(403);
    expect(err.response.data).toEqual(
      googleErrorBody(
        403,
        'calendar',
        'requiredAccessLevel',
        'You need to have writer access to this calendar.',
      ),
    );
    // A reader sees public details; a private event as a busy block.
    const seen = await reader.events.list({ calendarId: owner });
    const bySummary = new Map(seen.data.items!.map((e) => [e.start!.dateTime!, e]));
    expect(bySummary.get('2025-04-02T10:00:00Z')).toMatchObject({ summary: 'Dentist' });
    expect(bySummary.get('2025-04-03T10:00:00Z')!.summary).toBeUndefined();
    // A freeBusyReader sees only busy blocks, in the recorded shape.
    const blocks = await fb.events.list({ calendarId: owner });
    expect(blocks.data.accessRole).toBe('freeBusyReader');
    for (const e of blocks.data.items!) {
      expect(Object.keys(e).sort()).toEqual([
        'end',
        'etag',
        'htmlLink',
        'iCalUID',
        'id',
        'kind',
        'start',
        'status',
        'updated',
        'visibility',
      ]);
      expect(e.visibility).toBe('private');
    }
    // Sharing and calendar properties belong to the owner.
    expect(
      await reader.calendars
        .patch({ calendarId: owner, requestBody: { summary: 'mine now' } })
        .then(() => 200)
        .catch((e: { status: number }) => e.status),
    ).toBe(403);
  });
});
