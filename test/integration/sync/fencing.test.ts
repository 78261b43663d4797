// Fencing: once another worker has taken a calendar over, no write of the old worker lands (events, sweep, occurrences).
import type { calendar_v3 } from '@googleapis/calendar';
import type { Firestore } from '@google-cloud/firestore';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CalendarApiFactory, EventsPage } from '../../../functions/calendar/api.js';
import { paths } from '../../../functions/store/schema.js';
import { LeaseLostError, runSync } from '../../../functions/sync/engine.js';
import { emulatorsMissing, uniqueProjectId, useEmulators } from '../../harness/env.js';
import { googleCalendar, SimulatorClient } from '../../simulator/client.js';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import {
  etags,
  googleState,
  insertMany,
  mirror,
  newFirestore,
  readSub,
  seedSubscription,
  testDeps,
  type Seeded,
} from './helpers.js';

const LEASE_MS = 60_000;

/** A gate a test opens by hand. */
function gate(): { wait: Promise<void>; open(): void } {
  let open = () => undefined as void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

describe.skipIf(emulatorsMissing() !== '')(
  'fencing: a worker that lost its lease writes nothing',
  () => {
    let db: Firestore;
    let sim: Simulator;
    let ctl: SimulatorClient;
    let cal: calendar_v3.Calendar;
    let seeded: Seeded;
    let n = 0;

    beforeAll(() => {
      expect(useEmulators()).toBe(true);
      db = newFirestore(uniqueProjectId('fence'));
    });
    afterAll(() => db.terminate());
    beforeEach(async () => {
      sim = await startSimulator({ seed: 31, rateLimitPerMinute: 1_000_000 });
      ctl = new SimulatorClient(sim.url);
      const email = `fence${++n}@example.com`;
      await ctl.createUser(email, `rt-f${n}`);
      cal = googleCalendar(sim.url, `rt-f${n}`).calendar;
      seeded = await seedSubscription(db, {
        uid: `f${n}`,
        calendarId: email,
        refreshToken: `rt-f${n}`,
      });
    });
    afterEach(() => sim.close());

    /**
     * The scenario: A's incremental call gets 410; A's full listing is read (before E exists)
     * but arrives late — after B took the lease over (B's clock is past A's lease), resynced, and
     * synced a new event E. A then writes its stale listing and sweeps. E must survive.
     */
    it('a stale full listing delivered after a takeover neither writes nor sweeps', async () => {
      await insertMany(cal, seeded.calendarId, 12);
      const base = testDeps(db, sim.url, { config: { leaseMs: LEASE_MS } });
      await runSync(base, seeded.subscriptionId);

      // A's full listing is computed by "Google" now and withheld until the gate opens.
      const held = gate();
      const listed = gate();
      const real = base.calendarApi;
      const slowFull: CalendarApiFactory = (token, options) => {
        const api = real(token, options);
        return {
          ...api,
          async listEvents(params, signal): Promise<EventsPage> {
            const page = await api.listEvents(params, signal);
            if (params.syncToken === undefined) {
              listed.open();
              await held.wait;
            }
            return page;
          },
        };
      };
      await ctl.expireSyncTokens(seeded.calendarId);
      const a = testDeps(db, sim.url, {
        config: { leaseMs: LEASE_MS },
        calendarApi: slowFull,
        holderId: 'worker-A',
      });
      const runA = runSync(a, seeded.subscriptionId).then(
        (r) => ({ ok: true as const, r }),
        (err: unknown) => ({ ok: false as const, err }),
      );
      await listed.wait; // A holds a listing without E

      // B lives past A's lease: it takes over, resyncs (token expired), then syncs E.
      const later = () => Date.now() + LEASE_MS + 5_000;
      const b = testDeps(db, sim.url, {
        config: { leaseMs: LEASE_MS },
        clock: later,
        holderId: 'worker-B',
      });
      expect((await runSync(b, seeded.subscriptionId)).outcome).toBe('synced');
      const inTenDays = Date.now() + 10 * 86_400_000; // inside the occurrence window
      const { data: e } = await cal.events.insert({
        calendarId: seeded.calendarId,
        requestBody: {
          summary: 'E, created after A listed',
          start: { dateTime: new Date(inTenDays).toISOString() },
          end: { dateTime: new Date(inTenDays + 3_600_000).toISOString() },
        },
      });
      expect((await runSync(b, seeded.subscriptionId)).outcome).toBe('synced');
      expect((await mirror(db, seeded.uid, seeded.calendarId)).has(e.id!)).toBe(true);
      const tokenOfB = (await readSub(db, seeded.subscriptionId)).syncToken;

      // A's stale listing arrives now.
      held.open();
      const outcome = await runA;
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) expect(outcome.err).toBeInstanceOf(LeaseLostError);

      const m = await mirror(db, seeded.uid, seeded.calendarId);
      expect(m.has(e.id!)).toBe(true);
      expect(etags(m)).toEqual(etags(await googleState(cal, seeded.calendarId)));
      // E's occurrence too: A's occurrence rebuild did not land either.
      const occ = await db.collection(paths.occurrences(seeded.uid, seeded.calendarId)).get();
      expect(occ.docs.map((d) => d.get('eventId'))).toContain(e.id);
      expect((await readSub(db, seeded.subscriptionId)).syncToken).toBe(tokenOfB);
    });

    it('a worker whose lease was taken over has even its first page refused, atomically', async () => {
      await insertMany(cal, seeded.calendarId, 6);
      const base = testDeps(db, sim.url, { config: { leaseMs: LEASE_MS } });
      await runSync(base, seeded.subscriptionId);
      for (const id of [...(await mirror(db, seeded.uid, seeded.calendarId)).keys()].slice(0, 3)) {
        await cal.events.patch({
          calendarId: seeded.calendarId,
          eventId: id,
          requestBody: { summary: 'changed while A stalls' },
        });
      }
      const held = gate();
      const listed = gate();
      const real = base.calendarApi;
      const slowDelta: CalendarApiFactory = (token, options) => {
        const api = real(token, options);
        return {
          ...api,
          async listEvents(params, signal) {
            const page = await api.listEvents(params, signal);
            listed.open();
            await held.wait;
            return page;
          },
        };
      };
      const a = testDeps(db, sim.url, {
        config: { leaseMs: LEASE_MS },
        calendarApi: slowDelta,
        holderId: 'worker-A',
      });
      const runA = runSync(a, seeded.subscriptionId).catch((err: unknown) => err);
      await listed.wait;
      // B takes over and syncs the same three changes; then the user deletes one of them.
      const b = testDeps(db, sim.url, {
        config: { leaseMs: LEASE_MS },
        clock: () => Date.now() + LEASE_MS + 5_000,
        holderId: 'worker-B',
      });
      expect((await runSync(b, seeded.subscriptionId)).outcome).toBe('synced');
      const gone = [...(await mirror(db, seeded.uid, seeded.calendarId)).values()].find(
        (d) => d.summary === 'changed while A stalls',
      )!;
      await cal.events.delete({ calendarId: seeded.calendarId, eventId: gone.id as string });
      expect((await runSync(b, seeded.subscriptionId)).outcome).toBe('synced');
      held.open();
      expect(await runA).toBeInstanceOf(LeaseLostError);
      // A's page would have resurrected the deleted event.
      const m = await mirror(db, seeded.uid, seeded.calendarId);
      expect(m.has(gone.id as string)).toBe(false);
      expect(etags(m)).toEqual(etags(await googleState(cal, seeded.calendarId)));
    });
  },
);
