// End to end on the real stack (simulator → webhook → Pub/Sub push → syncWorker → Firestore): the seed's walk-through, edits, many users, listeners, renewal, the daily roll.
import { Timestamp } from '@google-cloud/firestore';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_WINDOW,
  occurrenceWindow,
  utcDayStart,
} from '../../functions/occurrences/model.js';
import { paths } from '../../functions/store/schema.js';
import { seedDemoCalendar, storySteps } from '../../scripts/demo-calendar.js';
import { emulatorsMissing } from '../harness/env.js';
import { listenToChanges } from '../harness/fixtures.js';
import {
  connectCalendar,
  converged,
  hoursFromNow,
  insertHourLong,
  instancesWhenListable,
  insertHourly,
  mirrorDocs,
  newUser,
  stackFixture,
  waitFor,
  waitForMirrored,
  type User,
} from './helpers.js';

const DAY = 86_400_000;

describe.skipIf(emulatorsMissing() !== '')('calsync end to end', () => {
  const f = stackFixture({
    // Channels live 2 h, inside the 24 h renewal window: every renewChannels run rotates them.
    env: { CALSYNC_CHANNEL_TTL_SECONDS: '7200' },
  });

  it("the seed write-up's walk-through: add, edit, cancel an instance, delete — each seen by a listener", async () => {
    const user = await newUser(f.stack, 'walk');
    const seeded = await seedDemoCalendar(user.cal, user.email);
    const report = await connectCalendar(f.stack, user);
    expect(report.calendar.calendarId).toBe(user.email);
    expect(report.calendar.channel).not.toBeNull();
    expect(report.calendar.sync.writes).toBeGreaterThanOrEqual(300);

    const { changes: seen, stop } = await listenToChanges(
      f.db.collection(paths.events(user.uid, user.email)),
      (c) => ({
        type: c.type,
        id: c.doc.id,
        status: (c.doc.data() as { status?: string }).status ?? '',
      }),
    );
    try {
      for (const step of storySteps(user.cal, user.email, seeded)) {
        const before = seen.length;
        await step.run();
        await waitFor(`Firestore change for "${step.title}"`, () =>
          seen.slice(before).some(step.expect),
        );
      }
    } finally {
      stop();
    }
    await converged(f.db, user, user.email);
    // The webhook published every change; the worker ran incremental syncs only.
    const syncs = f.logs.find((t, e) => t === 'syncWorker' && e.message === 'sync');
    expect(syncs.length).toBeGreaterThanOrEqual(1);
    expect(syncs.every((e) => e.full === false)).toBe(true);
  });

  it('create, update, delete and recurring edits: exception, tombstone, series deletion', async () => {
    const user = await newUser(f.stack, 'edits');
    await connectCalendar(f.stack, user);
    const calendarId = user.email;
    const docs = () => mirrorDocs(f.db, user.uid, calendarId);

    const single = await insertHourLong(user, 'Dentist', 30);
    await waitForMirrored(f.db, user, single, 'the new event');

    const { data: updated } = await user.cal.events.patch({
      calendarId,
      eventId: single.id!,
      requestBody: {
        summary: 'Dentist (moved)',
        start: { dateTime: hoursFromNow(32) },
        end: { dateTime: hoursFromNow(33) },
      },
    });
    await waitFor('the update', async () => {
      const d = (await docs()).get(single.id!);
      return d?.etag === updated.etag && d?.summary === 'Dentist (moved)';
    });

    const { data: series } = await user.cal.events.insert({
      calendarId,
      requestBody: {
        summary: 'Weekly sync',
        recurrence: ['RRULE:FREQ=WEEKLY;COUNT=8'],
        start: { dateTime: hoursFromNow(48).replace('Z', ''), timeZone: 'Europe/Berlin' },
        end: { dateTime: hoursFromNow(49).replace('Z', ''), timeZone: 'Europe/Berlin' },
      },
    });
    const [first, second] = await instancesWhenListable(user.cal, calendarId, series.id!);
    const { data: edited } = await user.cal.events.patch({
      calendarId,
      eventId: first!.id!,
      requestBody: { summary: 'Weekly sync (special)' },
    });
    await user.cal.events.delete({ calendarId, eventId: second!.id! });
    await waitFor('the edited instance and the tombstone', async () => {
      const m = await docs();
      return (
        m.get(series.id!) !== undefined &&
        m.get(edited.id!)?.etag === edited.etag &&
        m.get(edited.id!)?.recurringEventId === series.id &&
        m.get(second!.id!)?.status === 'cancelled'
      );
    });
    await converged(f.db, user, calendarId);

    await user.cal.events.delete({ calendarId, eventId: single.id! });
    await user.cal.events.delete({ calendarId, eventId: series.id! });
    await waitFor(
      'the single and the whole series (master, exception, tombstone) gone',
      async () => {
        const m = await docs();
        return (
          !m.has(single.id!) &&
          [...m.values()].every((d) => d.id !== series.id && d.recurringEventId !== series.id)
        );
      },
    );
    await converged(f.db, user, calendarId);
  });

  it('5 users × 2 calendars with concurrent edits: every mirror equals Google', async () => {
    const users: User[] = [];
    const calendars: { user: User; calendarId: string }[] = [];
    for (let i = 0; i < 5; i++) {
      const user = await newUser(f.stack, `many${i}`);
      const second = await f.stack.simClient.createCalendar(user.email, {
        summary: `Team ${i}`,
        timeZone: 'UTC',
      });
      users.push(user);
      calendars.push({ user, calendarId: user.email }, { user, calendarId: second });
    }
    // Connect three at a time (each is a CLI process on a 2-core machine).
    for (let i = 0; i < calendars.length; i += 3) {
      await Promise.all(
        calendars
          .slice(i, i + 3)
          .map(({ user, calendarId }) => connectCalendar(f.stack, user, calendarId)),
      );
    }
    await Promise.all(
      calendars.map(async ({ user, calendarId }, k) => {
        const ids: string[] = [];
        for (let j = 0; j < 4; j++) {
          const { data } = await user.cal.events.insert({
            calendarId,
            requestBody: {
              summary: `c${k} e${j}`,
              start: { dateTime: hoursFromNow(24 + j) },
              end: { dateTime: hoursFromNow(24 + j, 30) },
            },
          });
          ids.push(data.id!);
        }
        await user.cal.events.patch({
          calendarId,
          eventId: ids[0]!,
          requestBody: { location: 'Room 1' },
        });
        await user.cal.events.delete({ calendarId, eventId: ids[1]! });
        const { data: s } = await user.cal.events.insert({
          calendarId,
          requestBody: {
            summary: `c${k} daily`,
            recurrence: ['RRULE:FREQ=DAILY;COUNT=5'],
            start: { dateTime: hoursFromNow(72), timeZone: 'UTC' },
            end: { dateTime: hoursFromNow(73), timeZone: 'UTC' },
          },
        });
        const inst = await instancesWhenListable(user.cal, calendarId, s.id!);
        await user.cal.events.delete({ calendarId, eventId: inst[2]!.id! });
      }),
    );
    const counts = await Promise.all(
      calendars.map(({ user, calendarId }) => converged(f.db, user, calendarId, 90_000)),
    );
    // 3 singles + master + tombstone per calendar.
    expect(counts).toEqual(calendars.map(() => 5));
  });

  it('a downstream listener sees each change once, and no flood after a 410', async () => {
    const user = await newUser(f.stack, 'listen');
    const calendarId = user.email;
    const ids = await insertHourly(user, 120, { batch: 12 });
    const report = await connectCalendar(f.stack, user);
    const subscriptionId = report.calendar.subscriptionId;

    const { changes, stop } = await listenToChanges(
      f.db.collection(paths.events(user.uid, calendarId)),
      (c) => ({
        type: c.type,
        id: c.doc.id,
        etag: (c.doc.data() as { etag?: string }).etag ?? '',
      }),
    );
    try {
      const { data: a } = await user.cal.events.patch({
        calendarId,
        eventId: ids[3]!,
        requestBody: { summary: 'changed once' },
      });
      await waitFor('the edit', () => changes.some((c) => c.id === ids[3] && c.etag === a.etag));
      await converged(f.db, user, calendarId);

      // The token expires: the next notification's sync gets 410 and runs a diffing full sync.
      const fullBefore = f.logs.find(
        (t, e) =>
          t === 'syncWorker' &&
          e.message === 'sync' &&
          e.full === true &&
          e.subscriptionId === subscriptionId,
      ).length;
      await f.stack.simClient.expireSyncTokens(calendarId);
      const afterExpiry = changes.length;
      const { data: b } = await user.cal.events.patch({
        calendarId,
        eventId: ids[77]!,
        requestBody: { summary: 'changed after 410' },
      });
      await waitFor(
        'the full sync after the 410',
        () =>
          f.logs.find(
            (t, e) =>
              t === 'syncWorker' &&
              e.message === 'sync' &&
              e.full === true &&
              e.subscriptionId === subscriptionId,
          ).length > fullBefore,
      );
      await waitFor('the edit after the 410', () =>
        changes.some((c) => c.id === ids[77] && c.etag === b.etag),
      );
      await converged(f.db, user, calendarId);
      const flood = changes.slice(afterExpiry);
      expect(flood).toEqual([{ type: 'modified', id: ids[77], etag: b.etag }]);
      // Each (id, etag) seen once.
      const keys = changes.map((c) => `${c.id}/${c.etag}/${c.type}`);
      expect(new Set(keys).size).toBe(keys.length);
    } finally {
      stop();
    }
  });

  it('channel renewal during traffic loses nothing; the old channel is still heard during the overlap', async () => {
    const user = await newUser(f.stack, 'renew');
    const calendarId = user.email;
    const report = await connectCalendar(f.stack, user);
    const subscriptionId = report.calendar.subscriptionId;
    const oldChannel = report.calendar.channel!.id;
    // channels.stop of the old channel lets one late notification through (Google's stragglers).
    await f.stack.simClient.setStragglerAfterStop(1);

    let editing = true;
    let n = 0;
    const traffic = (async () => {
      while (editing || n < 6) {
        await user.cal.events.insert({
          calendarId,
          requestBody: {
            summary: `during renewal ${n}`,
            start: { dateTime: hoursFromNow(5 + n) },
            end: { dateTime: hoursFromNow(5 + n, 20) },
          },
        });
        n++;
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    const res = await fetch(f.stack.urls.renewChannels, { method: 'POST' });
    expect(res.status).toBe(200);
    const summary = (await res.json()) as { renewed: number; failed: unknown[] };
    expect(summary.failed).toEqual([]);
    expect(summary.renewed).toBeGreaterThanOrEqual(1);
    editing = false;
    await traffic;

    const sub = await f.readSub(subscriptionId);
    expect(sub.channel?.id).not.toBe(oldChannel);
    expect(sub.previousChannel?.id).toBe(oldChannel);
    await f.stack.sim.idle();
    await converged(f.db, user, calendarId);
    // The old channel's straggler reached the webhook and was accepted, not rejected as stale.
    const deliveries = await f.stack.simClient.notifications();
    const late = deliveries.filter((d) => d.channelId === oldChannel && d.state === 'exists');
    expect(late.length).toBeGreaterThanOrEqual(1);
    expect(late.every((d) => d.status === 204)).toBe(true);
    const stale = f.logs.find(
      (t, e) =>
        t === 'syncWorker' &&
        e.subscriptionId === subscriptionId &&
        String(e.message).includes('stale channel'),
    );
    expect(stale).toEqual([]);
  });

  it("the day's occurrence roll goes renewChannels → Pub/Sub push → syncWorker, which rolls the window", async () => {
    const user = await newUser(f.stack, 'roller');
    const calendarId = user.email;
    await user.cal.events.insert({
      calendarId,
      requestBody: {
        summary: 'daily stand-up',
        start: { dateTime: hoursFromNow(2), timeZone: 'UTC' },
        end: { dateTime: hoursFromNow(2, 15), timeZone: 'UTC' },
        recurrence: ['RRULE:FREQ=DAILY'],
      },
    });
    const report = await connectCalendar(f.stack, user);
    const subscriptionId = report.calendar.subscriptionId;
    await converged(f.db, user, calendarId);
    // As if the last roll was yesterday's: its last day of occurrences is not there yet.
    const now = Date.now();
    const window = occurrenceWindow(now, DEFAULT_WINDOW);
    const occurrences = f.db.collection(paths.occurrences(user.uid, calendarId));
    const lastDay = await occurrences
      .where('startAt', '>=', Timestamp.fromMillis(window.end - DAY))
      .get();
    expect(lastDay.size).toBe(1);
    await Promise.all(lastDay.docs.map((d) => d.ref.delete()));
    await f.db.doc(paths.subscription(subscriptionId)).update({
      occurrencesRolledAt: Timestamp.fromMillis(now - DAY),
      occurrencesRolledThrough: Timestamp.fromMillis(window.end - DAY),
    });

    const res = await fetch(f.stack.urls.renewChannels, { method: 'POST' });
    expect(res.status).toBe(200);
    const summary = (await res.json()) as { occurrenceRollsEnqueued: number; failed: unknown[] };
    expect(summary.failed).toEqual([]);
    expect(summary.occurrenceRollsEnqueued).toBeGreaterThanOrEqual(1);

    // The worker rolled it: the day entering the window is back, and the roll is recorded.
    const rolled = await waitFor('the worker to roll the window', async () => {
      const sub = await f.readSub(subscriptionId);
      return (sub.occurrencesRolledAt?.toMillis() ?? 0) >= utcDayStart(now) && sub;
    });
    expect(rolled.occurrencesRolledThrough?.toMillis()).toBe(
      occurrenceWindow(rolled.occurrencesRolledAt!.toMillis(), DEFAULT_WINDOW).end,
    );
    const back = await occurrences
      .where('startAt', '>=', Timestamp.fromMillis(window.end - DAY))
      .get();
    expect(back.docs.map((d) => d.id)).toEqual(lastDay.docs.map((d) => d.id));
    const outcomes = f.logs
      .find((t, e) => t === 'syncWorker' && e.message === 'sync result')
      .map((e) => e.outcome);
    expect(outcomes).toContain('rolled');
  });
});
