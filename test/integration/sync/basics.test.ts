// The sync worker on the Firestore emulator + Calendar simulator: the seed walk-through, updates, deletions, all-day, moves, paging.
import type { calendar_v3 } from '@googleapis/calendar';
import type { Firestore } from '@google-cloud/firestore';
import { Timestamp } from '@google-cloud/firestore';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handleSyncMessage } from '../../../functions/sync/handle.js';
import { runSync } from '../../../functions/sync/engine.js';
import { paths } from '../../../functions/store/schema.js';
import { emulatorsMissing, uniqueProjectId, useEmulators } from '../../harness/env.js';
import { googleCalendar, SimulatorClient } from '../../simulator/client.js';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import {
  etags,
  googleState,
  mirror,
  newFirestore,
  notification,
  readSub,
  seedSubscription,
  testDeps,
  type Seeded,
} from './helpers.js';

const CHANNEL = { id: 'ch-basics', resourceId: 'res-basics' };

describe.skipIf(emulatorsMissing() !== '')('sync worker basics', () => {
  let db: Firestore;
  let sim: Simulator;
  let ctl: SimulatorClient;
  let cal: calendar_v3.Calendar;
  let seeded: Seeded;
  let n = 0;

  beforeAll(() => {
    expect(useEmulators()).toBe(true);
    db = newFirestore(uniqueProjectId('sync'));
  });
  afterAll(() => db.terminate());
  beforeEach(async () => {
    sim = await startSimulator({ seed: 7, rateLimitPerMinute: 1_000_000 });
    ctl = new SimulatorClient(sim.url);
    const email = `basics${++n}@example.com`;
    await ctl.createUser(email, `rt-${n}`, { timeZone: 'America/Chicago' });
    cal = googleCalendar(sim.url, `rt-${n}`).calendar;
    seeded = await seedSubscription(db, {
      uid: `u${n}`,
      calendarId: email,
      refreshToken: `rt-${n}`,
      channel: CHANNEL,
    });
  });
  afterEach(() => sim.close());

  const deps = (over: Parameters<typeof testDeps>[2] = {}) => testDeps(db, sim.url, over);
  const notify = (d = deps()) => handleSyncMessage(d, notification(seeded, CHANNEL));
  const expectMirrorEqualsGoogle = async () => {
    const [m, g] = await Promise.all([
      mirror(db, seeded.uid, seeded.calendarId),
      googleState(cal, seeded.calendarId),
    ]);
    expect(etags(m)).toEqual(etags(g));
    return m;
  };

  it("a notification records when the channel was last heard of (renewal's silent-channel rule)", async () => {
    await runSync(deps(), seeded.subscriptionId);
    expect((await readSub(db, seeded.subscriptionId)).lastNotificationAt ?? null).toBeNull();
    const clock = { ms: Date.now() };
    const d = deps({ clock: () => clock.ms });
    await handleSyncMessage(d, notification(seeded, CHANNEL, { messageNumber: 42 }));
    const first = await readSub(db, seeded.subscriptionId);
    expect(first.lastNotificationAt!.toMillis()).toBe(clock.ms);
    expect(first.lastMessageNumber).toBe(42);
    // Throttled: a second notification minutes later writes nothing new; an hour later it does.
    clock.ms += 60_000;
    await handleSyncMessage(d, notification(seeded, CHANNEL, { messageNumber: 43 }));
    expect((await readSub(db, seeded.subscriptionId)).lastMessageNumber).toBe(42);
    clock.ms += 3_600_000;
    await handleSyncMessage(d, notification(seeded, CHANNEL, { messageNumber: 50 }));
    const later = await readSub(db, seeded.subscriptionId);
    expect(later.lastMessageNumber).toBe(50);
    expect(later.lastNotificationAt!.toMillis()).toBe(clock.ms);
  });

  it("the seed's walk-through: full list → token → add → notification → only the new event", async () => {
    await cal.events.insert({
      calendarId: seeded.calendarId,
      requestBody: {
        summary: 'existing',
        start: { dateTime: '2026-02-01T10:00:00Z' },
        end: { dateTime: '2026-02-01T11:00:00Z' },
      },
    });
    const d = deps();
    const first = await runSync(d, seeded.subscriptionId, { trigger: 'connect' });
    expect(first).toMatchObject({ outcome: 'synced', full: true, writes: 1 });
    const sub = await readSub(db, seeded.subscriptionId);
    expect(sub.syncToken).toBeTruthy();
    expect(sub.lease).toBeNull();

    const { data: added } = await cal.events.insert({
      calendarId: seeded.calendarId,
      requestBody: {
        summary: 'new one',
        start: { dateTime: '2026-02-02T10:00:00Z' },
        end: { dateTime: '2026-02-02T11:00:00Z' },
      },
    });
    await ctl.clearRequests();
    const res = await notify(d);
    expect(res.outcome).toBe('synced');
    expect(res.sync).toMatchObject({ full: false, items: 1, writes: 1, deletes: 0 });
    const lists = (await ctl.requests()).filter(
      (r) => r.method === 'GET' && r.path.endsWith('/events'),
    );
    expect(lists).toHaveLength(1);
    expect(lists[0]!.query).toMatchObject({
      syncToken: sub.syncToken,
      singleEvents: 'false',
    });
    // Google: with a syncToken "it is not allowed to set showDeleted to False" — never sent.
    expect(lists[0]!.query.showDeleted).toBeUndefined();
    const m = await expectMirrorEqualsGoogle();
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
      subscriptionId: seeded.subscriptionId,
    });
    expect(typeof line!.durationMs).toBe('number');
    // Status for the user.
    const calDoc = (await db.doc(paths.calendar(seeded.uid, seeded.calendarId)).get()).data()!;
    expect(calDoc.sync.status).toBe('active');
    expect(calDoc.sync.lastSyncedAt).toBeInstanceOf(Timestamp);
    expect(calDoc.counts.events).toBe(2);
    expect(calDoc.timeZone).toBe('America/Chicago');
  });

  it('updates, moves and deletions; all-day events at midnight in the calendar zone', async () => {
    const d = deps();
    const ins = (body: calendar_v3.Schema$Event) =>
      cal.events.insert({ calendarId: seeded.calendarId, requestBody: body }).then((r) => r.data);
    const a = await ins({
      summary: 'a',
      start: { dateTime: '2026-03-01T09:00:00Z' },
      end: { dateTime: '2026-03-01T10:00:00Z' },
    });
    const b = await ins({
      summary: 'b',
      start: { dateTime: '2026-03-02T09:00:00Z' },
      end: { dateTime: '2026-03-02T10:00:00Z' },
    });
    const allDay = await ins({
      summary: 'holiday',
      start: { date: '2026-03-08' },
      end: { date: '2026-03-09' },
    });
    await runSync(d, seeded.subscriptionId);

    await cal.events.patch({
      calendarId: seeded.calendarId,
      eventId: a.id!,
      requestBody: { summary: 'a2' },
    });
    await cal.events.patch({
      calendarId: seeded.calendarId,
      eventId: b.id!,
      requestBody: {
        start: { dateTime: '2026-03-05T15:00:00Z' },
        end: { dateTime: '2026-03-05T16:00:00Z' },
      },
    });
    await cal.events.delete({ calendarId: seeded.calendarId, eventId: allDay.id! });
    const res = await notify(d);
    expect(res.sync).toMatchObject({ writes: 2, deletes: 1 });
    const m = await expectMirrorEqualsGoogle();
    expect(m.get(a.id!)!.summary).toBe('a2');
    expect((m.get(b.id!)!.startAt as Timestamp).toDate().toISOString()).toBe(
      '2026-03-05T15:00:00.000Z',
    );
    expect(m.has(allDay.id!)).toBe(false);

    // All-day across the US DST switch (8 March 2026): midnight CST, end midnight CDT (exclusive).
    const dst = await ins({
      summary: 'dst day',
      start: { date: '2026-03-08' },
      end: { date: '2026-03-09' },
    });
    await notify(d);
    const doc = (await mirror(db, seeded.uid, seeded.calendarId)).get(dst.id!)!;
    expect((doc.startAt as Timestamp).toDate().toISOString()).toBe('2026-03-08T06:00:00.000Z');
    expect((doc.endAt as Timestamp).toDate().toISOString()).toBe('2026-03-09T05:00:00.000Z');
    expect(doc.start).toEqual({ date: '2026-03-08' }); // the resource as Google sent it
  });

  it('many pages, including empty ones, with the same parameters on every page', async () => {
    await ctl.setPaging({ emptyPageRate: 0.4, shortPageRate: 0.3 });
    for (let i = 0; i < 25; i++) {
      await cal.events.insert({
        calendarId: seeded.calendarId,
        requestBody: {
          summary: `p${i}`,
          start: { dateTime: `2026-04-${String(i + 1).padStart(2, '0')}T09:00:00Z` },
          end: { dateTime: `2026-04-${String(i + 1).padStart(2, '0')}T10:00:00Z` },
        },
      });
    }
    const d = deps({ config: { maxResults: 4 } });
    await ctl.clearRequests();
    const first = await runSync(d, seeded.subscriptionId);
    expect(first.pages).toBeGreaterThan(7);
    const lists = (await ctl.requests()).filter((r) => r.path.endsWith('/events'));
    for (const r of lists) {
      expect(r.query).toMatchObject({ maxResults: '4', singleEvents: 'false' });
      expect(r.query.showDeleted).toBeUndefined();
    }
    expect(lists.filter((r) => r.query.pageToken === undefined)).toHaveLength(1);
    await expectMirrorEqualsGoogle();

    // Incremental with paging: 10 changes over several pages.
    const ids = [...(await mirror(db, seeded.uid, seeded.calendarId)).keys()];
    for (const id of ids.slice(0, 6))
      await cal.events.patch({
        calendarId: seeded.calendarId,
        eventId: id,
        requestBody: { summary: 'changed' },
      });
    for (const id of ids.slice(6, 10))
      await cal.events.delete({ calendarId: seeded.calendarId, eventId: id });
    const res = await notify(d);
    expect(res.sync!.pages).toBeGreaterThan(1);
    expect(res.sync).toMatchObject({ writes: 6, deletes: 4 });
    await expectMirrorEqualsGoogle();
  });
});
