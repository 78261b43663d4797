// Conformance: incremental sync — deltas after insert/update/delete, cancelled items' shapes,
// etag/updated/sequence, 410 fullSyncRequired and 400 invalid token bodies (asserted literally).
import type { calendar_v3 } from '@googleapis/calendar';
import { describe, expect, it } from 'vitest';
import { simulatorUserFixture } from '../../harness/fixtures.js';
import { failure, listAll as sync, googleErrorBody, statusOf } from './helpers.js';

const timed = (
  day: number,
  hour = 9,
): { start: calendar_v3.Schema$EventDateTime; end: calendar_v3.Schema$EventDateTime } => ({
  start: {
    dateTime: `2025-03-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00Z`,
  },
  end: {
    dateTime: `2025-03-${String(day).padStart(2, '0')}T${String(hour + 1).padStart(2, '0')}:00:00Z`,
  },
});

describe('incremental sync', () => {
  const google = simulatorUserFixture({
    simulator: { seed: 3 },
    user: { email: 'sync@example.com', refreshToken: 'rt-sync' },
  });

  it('returns only what changed since the token: inserts, updates and deletions', async () => {
    const a = await google.insert({ summary: 'a', ...timed(1) });
    const b = await google.insert({ summary: 'b', ...timed(2) });
    const first = await sync(google.cal, {});
    expect(first.items.map((e) => e.id).sort()).toEqual([a.id, b.id].sort());

    const empty = await sync(google.cal, { syncToken: first.syncToken });
    expect(empty.items).toEqual([]);

    const c = await google.insert({ summary: 'c', ...timed(3) });
    await google.patch(a.id!, { summary: 'a2' });
    await google.cal.events.delete({ calendarId: 'primary', eventId: b.id! });
    const delta = await sync(google.cal, { syncToken: first.syncToken });
    const byId = new Map(delta.items.map((e) => [e.id, e]));
    expect([...byId.keys()].sort()).toEqual([a.id, b.id, c.id].sort());
    expect(byId.get(a.id)!.summary).toBe('a2');
    // A deletion carries only what Google guarantees.
    expect(byId.get(b.id)).toEqual({
      kind: 'calendar#event',
      etag: expect.any(String),
      id: b.id,
      status: 'cancelled',
    });

    // The full list (showDeleted=false) no longer has the deleted event; showDeleted=true does.
    expect((await sync(google.cal, {})).items.map((e) => e.id).sort()).toEqual([a.id, c.id].sort());
    expect((await sync(google.cal, { showDeleted: true })).items.map((e) => e.id)).toContain(b.id);
  });

  it('etag (quoted decimal) and updated (RFC 3339, ms, Z) change on every write; sequence on time changes', async () => {
    const e0 = await google.insert({ summary: 'x', ...timed(4) });
    expect(e0.etag).toMatch(/^"\d+"$/);
    expect(e0.updated).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(e0.sequence).toBe(0);
    const e1 = await google.patch(e0.id!, { summary: 'y' });
    expect(e1.etag).not.toBe(e0.etag);
    expect(e1.sequence).toBe(0);
    expect(Date.parse(e1.updated!)).toBeGreaterThanOrEqual(Date.parse(e0.updated!));
    const e2 = await google.patch(e0.id!, timed(5));
    expect(e2.etag).not.toBe(e1.etag);
    expect(e2.sequence).toBe(1);
    const e3 = (
      await google.cal.events.update({
        calendarId: 'primary',
        eventId: e0.id!,
        requestBody: { summary: 'z', ...timed(5) },
      })
    ).data;
    expect(e3.etag).not.toBe(e2.etag);
    expect(e3.summary).toBe('z');
    expect(e3.id).toBe(e0.id);
    expect(e3.created).toBe(e0.created);
  });

  it('an expired sync token answers 410 with Google’s exact fullSyncRequired body', async () => {
    const { syncToken } = await sync(google.cal, {});
    await google.ctl.expireSyncTokens('sync@example.com');
    const err = await failure(google.cal.events.list({ calendarId: 'primary', syncToken }));
    expect(err.status).toBe(410);
    expect(err.data).toEqual(
      googleErrorBody(
        410,
        'calendar',
        'fullSyncRequired',
        'Sync token is no longer valid, a full sync is required.',
        { locationType: 'parameter', location: 'syncToken' },
      ),
    );
    // A fresh full sync works again.
    expect((await sync(google.cal, {})).syncToken).toBeTruthy();
  });

  it('a malformed sync token answers 400 "Invalid sync token value." (not 410)', async () => {
    const err = await failure(google.cal.events.list({ calendarId: 'primary', syncToken: 'x' }));
    expect(err.status).toBe(400);
    expect(err.data).toEqual(
      googleErrorBody(400, 'global', 'invalid', 'Invalid sync token value.', {
        locationType: 'parameter',
        location: 'syncToken',
      }),
    );
  });

  it.each([
    ['iCalUID', { iCalUID: 'a@google.com' }],
    ['orderBy', { orderBy: 'updated' }],
    ['privateExtendedProperty', { privateExtendedProperty: ['k=v'] }],
    ['q', { q: 'hello' }],
    ['sharedExtendedProperty', { sharedExtendedProperty: ['k=v'] }],
    ['timeMin', { timeMin: '2025-01-01T00:00:00Z' }],
    ['timeMax', { timeMax: '2025-01-01T00:00:00Z' }],
    ['updatedMin', { updatedMin: '2025-01-01T00:00:00Z' }],
  ])('syncToken together with %s is a 400', async (name, extra) => {
    const { syncToken } = await sync(google.cal, {});
    const err = await failure(
      google.cal.events.list({ calendarId: 'primary', syncToken, ...extra }),
    );
    expect(err.status).toBe(400);
    const data = err.data as { error: { errors: { location?: string }[] } };
    expect(data.error.errors[0]!.location).toBe(name);
  });

  it('showDeleted=false with a syncToken: accepted by default, 400 invalid with rejectShowDeletedFalseWithSyncToken', async () => {
    // events.list reference, syncToken: "All events deleted since the previous list request will
    // always be in the result set and it is not allowed to set showDeleted to False." No source
    // shows Google's answer; the knob gives the hardest plausible one (400 invalid).
    const { syncToken } = await sync(google.cal, {});
    const ok = await google.cal.events.list({
      calendarId: 'primary',
      syncToken,
      showDeleted: false,
    });
    expect(ok.status).toBe(200);
    await google.ctl.setRealism({ rejectShowDeletedFalseWithSyncToken: true });
    const err = await failure(
      google.cal.events.list({ calendarId: 'primary', syncToken, showDeleted: false }),
    );
    expect(err.status).toBe(400);
    expect(err.data).toEqual(
      googleErrorBody(
        400,
        'global',
        'invalid',
        'The parameter showDeleted cannot be set to false together with syncToken.',
        { locationType: 'parameter', location: 'showDeleted' },
      ),
    );
    // Without the parameter (or with true on a showDeleted full sync) all is well.
    expect((await google.cal.events.list({ calendarId: 'primary', syncToken })).status).toBe(200);
    // calendarList: the same for showDeleted and showHidden.
    const list = await google.cal.calendarList.list();
    const listErr = await failure(
      google.cal.calendarList.list({ syncToken: list.data.nextSyncToken!, showHidden: false }),
    );
    expect(listErr.status).toBe(400);
  });

  it('a sync token must be used with the full sync’s singleEvents/showDeleted', async () => {
    const { syncToken } = await sync(google.cal, { singleEvents: true });
    expect(
      (await failure(google.cal.events.list({ calendarId: 'primary', syncToken }))).status,
    ).toBe(400);
    expect(
      (await google.cal.events.list({ calendarId: 'primary', syncToken, singleEvents: true }))
        .status,
    ).toBe(200);
  });

  it('timeMin applies to the full sync only; later changes outside the window still arrive', async () => {
    await google.insert({ summary: 'old', ...timed(1) });
    const inWin = await google.insert({ summary: 'new', ...timed(20) });
    const full = await sync(google.cal, { timeMin: '2025-03-10T00:00:00Z' });
    expect(full.items.map((e) => e.id)).toEqual([inWin.id]);
    const old2 = await google.insert({ summary: 'older', ...timed(2) });
    const delta = await sync(google.cal, { syncToken: full.syncToken });
    expect(delta.items.map((e) => e.id)).toEqual([old2.id]);
  });

  it('get on a deleted event returns it cancelled; deleting twice is 410, unknown ids 404', async () => {
    const e = await google.insert({ summary: 'gone', ...timed(6) });
    await google.cal.events.delete({ calendarId: 'primary', eventId: e.id! });
    expect(
      (await google.cal.events.get({ calendarId: 'primary', eventId: e.id! })).data.status,
    ).toBe('cancelled');
    expect(
      (await failure(google.cal.events.delete({ calendarId: 'primary', eventId: e.id! }))).status,
    ).toBe(410);
    const nf = await failure(
      google.cal.events.get({ calendarId: 'primary', eventId: 'doesnotexist0' }),
    );
    expect(nf.status).toBe(404);
    expect(nf.data).toEqual(googleErrorBody(404, 'global', 'notFound', 'Not Found'));
  });

  it('client-chosen ids: base32hex accepted, duplicates 409, bad characters 400', async () => {
    const e = await google.insert({ id: 'abcdef0123', ...timed(7) });
    expect(e.id).toBe('abcdef0123');
    expect(e.iCalUID).toBe('abcdef0123@google.com');
    expect(await statusOf(google.insert({ id: 'abcdef0123', ...timed(7) }))).toBe(409);
    expect(await statusOf(google.insert({ id: 'ABC_xyz!', ...timed(7) }))).toBe(400);
  });

  it('If-Match with a stale etag is 412 conditionNotMet', async () => {
    const e = await google.insert({ summary: 'v1', ...timed(8) });
    await google.patch(e.id!, { summary: 'v2' });
    const err = await failure(
      google.cal.events.patch(
        { calendarId: 'primary', eventId: e.id!, requestBody: { summary: 'v3' } },
        { headers: { 'If-Match': e.etag! } },
      ),
    );
    expect(err.status).toBe(412);
  });
});
