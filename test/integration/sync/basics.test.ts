// The sync worker on the Firestore emulator + Calendar simulator: the seed walk-through, updates, deletions, all-day, moves, paging.
import { Timestamp } from '@google-cloud/firestore';
import { describe, expect, it } from 'vitest';
import { handleSyncMessage } from '../../../functions/sync/handle.js';
import { runSync } from '../../../functions/sync/engine.js';
import { emulatorsMissing } from '../../harness/env.js';
import { syncFixture } from './helpers.js';

const CHANNEL = { id: 'ch-basics', resourceId: 'res-basics' };

describe.skipIf(emulatorsMissing() !== '')('sync worker basics', () => {
  const f = syncFixture({
    name: 'basics',
    simulator: { seed: 7 },
    timeZone: 'America/Chicago',
    channel: CHANNEL,
  });
  const notify = (d = f.deps()) => handleSyncMessage(d, f.notification());

  it("a notification records when the channel was last heard of (renewal's silent-channel rule)", async () => {
    await runSync(f.deps(), f.seeded.subscriptionId);
    expect((await f.readSub()).lastNotificationAt ?? null).toBeNull();
    const clock = { ms: Date.now() };
    const d = f.deps({ clock: () => clock.ms });
    await handleSyncMessage(d, f.notification({ messageNumber: 42 }));
    const first = await f.readSub();
    expect(first.lastNotificationAt!.toMillis()).toBe(clock.ms);
    expect(first.lastMessageNumber).toBe(42);
    // Throttled: a second notification minutes later writes nothing new; an hour later it does.
    clock.ms += 60_000;
    await handleSyncMessage(d, f.notification({ messageNumber: 43 }));
    expect((await f.readSub()).lastMessageNumber).toBe(42);
    clock.ms += 3_600_000;
    await handleSyncMessage(d, f.notification({ messageNumber: 50 }));
    const later = await f.readSub();
    expect(later.lastMessageNumber).toBe(50);
    expect(later.lastNotificationAt!.toMillis()).toBe(clock.ms);
  });

  it("the seed's walk-through: full list → token → add → notification → only the new event", async () => {
    await f.insert({
      summary: 'existing',
      start: { dateTime: '2026-02-01T10:00:00Z' },
      end: { dateTime: '2026-02-01T11:00:00Z' },
    });
    const d = f.deps();
    const first = await runSync(d, f.seeded.subscriptionId, { trigger: 'connect' });
    expect(first).toMatchObject({ outcome: 'synced', full: true, writes: 1 });
    const sub = await f.readSub();
    expect(sub.syncToken).toBeTruthy();
    expect(sub.lease).toBeNull();

    const added = await f.insert({
      summary: 'new one',
      start: { dateTime: '2026-02-02T10:00:00Z' },
      end: { dateTime: '2026-02-02T11:00:00Z' },
    });
    await f.ctl.clearRequests();
    const res = await notify(d);
    expect(res.outcome).toBe('synced');
    expect(res.sync).toMatchObject({ full: false, items: 1, writes: 1, deletes: 0 });
    const lists = (await f.ctl.requests()).filter(
      (r) => r.method === 'GET' && r.path.endsWith('/events'),
    );
    expect(lists).toHaveLength(1);
    expect(lists[0]!.query).toMatchObject({
      syncToken: sub.syncToken,
      singleEvents: 'false',
    });
    // Google: with a syncToken "it is not allowed to set showDeleted to False" — never sent.
    expect(lists[0]!.query.showDeleted).toBeUndefined();
    const m = await f.sameAsGoogle();
    const doc = m.get(added.id!)!;
    expect(doc.summary).toBe('new one');
    expect((doc.startAt as Timestamp).toDate().toISOString()).toBe('2026-02-02T10:00:00.000Z');
    // One structured line per sync with the numbers.
    const line = d.lines.find((l) => l.message === 'sync' && l.full === false);
    expect(line).toMatchObject({
      pages: 1,
      items: 1,
      writes: 1,
      deletes: 0,
      subscriptionId: f.seeded.subscriptionId,
    });
    expect(typeof line!.durationMs).toBe('number');
    // Status for the user.
    const calDoc = (await f.calendarDoc())!;
    expect(calDoc.sync.status).toBe('active');
    expect(calDoc.sync.lastSyncedAt).toBeInstanceOf(Timestamp);
    expect(calDoc.counts.events).toBe(2);
    expect(calDoc.timeZone).toBe('America/Chicago');
  });

  it('updates, moves and deletions; all-day events at midnight in the calendar zone', async () => {
    const d = f.deps();
    const a = await f.insert({
      summary: 'a',
      start: { dateTime: '2026-03-01T09:00:00Z' },
      end: { dateTime: '2026-03-01T10:00:00Z' },
    });
    const b = await f.insert({
      summary: 'b',
      start: { dateTime: '2026-03-02T09:00:00Z' },
      end: { dateTime: '2026-03-02T10:00:00Z' },
    });
    const allDay = await f.insert({
      summary: 'holiday',
      start: { date: '2026-03-08' },
      end: { date: '2026-03-09' },
    });
    await runSync(d, f.seeded.subscriptionId);

    await f.rename([a.id!], 'a2');
    await f.patch(b.id!, {
      start: { dateTime: '2026-03-05T15:00:00Z' },
      end: { dateTime: '2026-03-05T16:00:00Z' },
    });
    await f.remove([allDay.id!]);
    const res = await notify(d);
    expect(res.sync).toMatchObject({ writes: 2, deletes: 1 });
    const m = await f.sameAsGoogle();
    expect(m.get(a.id!)!.summary).toBe('a2');
    expect((m.get(b.id!)!.startAt as Timestamp).toDate().toISOString()).toBe(
      '2026-03-05T15:00:00.000Z',
    );
    expect(m.has(allDay.id!)).toBe(false);

    // All-day across the US DST switch (8 March 2026): midnight CST, end midnight CDT (exclusive).
    const dst = await f.insert({
      summary: 'dst day',
      start: { date: '2026-03-08' },
      end: { date: '2026-03-09' },
    });
    await notify(d);
    const doc = (await f.mirror()).get(dst.id!)!;
    expect((doc.startAt as Timestamp).toDate().toISOString()).toBe('2026-03-08T06:00:00.000Z');
    expect((doc.endAt as Timestamp).toDate().toISOString()).toBe('2026-03-09T05:00:00.000Z');
    expect(doc.start).toEqual({ date: '2026-03-08' }); // the resource as Google sent it
  });

  it('many pages, including empty ones, with the same parameters on every page', async () => {
    await f.ctl.setPaging({ emptyPageRate: 0.4, shortPageRate: 0.3 });
    for (let i = 0; i < 25; i++) {
      await f.insert({
        summary: `p${i}`,
        start: { dateTime: `2026-04-${String(i + 1).padStart(2, '0')}T09:00:00Z` },
        end: { dateTime: `2026-04-${String(i + 1).padStart(2, '0')}T10:00:00Z` },
      });
    }
    const d = f.deps({ config: { maxResults: 4 } });
    await f.ctl.clearRequests();
    const first = await runSync(d, f.seeded.subscriptionId);
    expect(first.pages).toBeGreaterThan(7);
    const lists = (await f.ctl.requests()).filter((r) => r.path.endsWith('/events'));
    for (const r of lists) {
      expect(r.query).toMatchObject({ maxResults: '4', singleEvents: 'false' });
      expect(r.query.showDeleted).toBeUndefined();
    }
    expect(lists.filter((r) => r.query.pageToken === undefined)).toHaveLength(1);
    await f.sameAsGoogle();

    // Incremental with paging: 10 changes over several pages.
    const ids = [...(await f.mirror()).keys()];
    await f.rename(ids.slice(0, 6), 'changed');
    await f.remove(ids.slice(6, 10));
    const res = await notify(d);
    expect(res.sync!.pages).toBeGreaterThan(1);
    expect(res.sync).toMatchObject({ writes: 6, deletes: 4 });
    await f.sameAsGoogle();
  });
});
