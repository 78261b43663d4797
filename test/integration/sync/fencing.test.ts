// Fencing: once another worker has taken a calendar over, no write of the old worker lands (events, sweep, occurrences).
import { describe, expect, it } from 'vitest';
import type { CalendarApiFactory, EventsPage } from '../../../functions/calendar/api.js';
import { paths } from '../../../functions/store/schema.js';
import { LeaseLostError, runSync } from '../../../functions/sync/engine.js';
import { emulatorsMissing } from '../../harness/env.js';
import { insertMany, syncFixture } from './helpers.js';

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
    const f = syncFixture({ name: 'fence', simulator: { seed: 31 } });

    /**
     * The scenario: A's incremental call gets 410; A's full listing is read (before E exists)
     * but arrives late — after B took the lease over (B's clock is past A's lease), resynced, and
     * synced a new event E. A then writes its stale listing and sweeps. E must survive.
     */
    it('a stale full listing delivered after a takeover neither writes nor sweeps', async () => {
      await insertMany(f.cal, f.seeded.calendarId, 12);
      const base = f.deps({ config: { leaseMs: LEASE_MS } });
      await runSync(base, f.seeded.subscriptionId);

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
      await f.ctl.expireSyncTokens(f.seeded.calendarId);
      const a = f.deps({
        config: { leaseMs: LEASE_MS },
        calendarApi: slowFull,
        holderId: 'worker-A',
      });
      const runA = runSync(a, f.seeded.subscriptionId).then(
        (r) => ({ ok: true as const, r }),
        (err: unknown) => ({ ok: false as const, err }),
      );
      await listed.wait; // A holds a listing without E

      // B lives past A's lease: it takes over, resyncs (token expired), then syncs E.
      const later = () => Date.now() + LEASE_MS + 5_000;
      const b = f.deps({
        config: { leaseMs: LEASE_MS },
        clock: later,
        holderId: 'worker-B',
      });
      expect((await runSync(b, f.seeded.subscriptionId)).outcome).toBe('synced');
      const inTenDays = Date.now() + 10 * 86_400_000; // inside the occurrence window
      const e = await f.insert({
        summary: 'E, created after A listed',
        start: { dateTime: new Date(inTenDays).toISOString() },
        end: { dateTime: new Date(inTenDays + 3_600_000).toISOString() },
      });
      expect((await runSync(b, f.seeded.subscriptionId)).outcome).toBe('synced');
      expect((await f.mirror()).has(e.id!)).toBe(true);
      const tokenOfB = (await f.readSub()).syncToken;

      // A's stale listing arrives now.
      held.open();
      const outcome = await runA;
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) expect(outcome.err).toBeInstanceOf(LeaseLostError);

      const m = await f.sameAsGoogle();
      expect(m.has(e.id!)).toBe(true);
      // E's occurrence too: A's occurrence rebuild did not land either.
      const occ = await f.db.collection(paths.occurrences(f.seeded.uid, f.seeded.calendarId)).get();
      expect(occ.docs.map((d) => d.get('eventId'))).toContain(e.id);
      expect((await f.readSub()).syncToken).toBe(tokenOfB);
    });

    it('a worker whose lease was taken over has even its first page refused, atomically', async () => {
      await insertMany(f.cal, f.seeded.calendarId, 6);
      const base = f.deps({ config: { leaseMs: LEASE_MS } });
      await runSync(base, f.seeded.subscriptionId);
      for (const id of [...(await f.mirror()).keys()].slice(0, 3)) {
        await f.patch(id, { summary: 'changed while A stalls' });
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
      const a = f.deps({
        config: { leaseMs: LEASE_MS },
        calendarApi: slowDelta,
        holderId: 'worker-A',
      });
      const runA = runSync(a, f.seeded.subscriptionId).catch((err: unknown) => err);
      await listed.wait;
      // B takes over and syncs the same three changes; then the user deletes one of them.
      const b = f.deps({
        config: { leaseMs: LEASE_MS },
        clock: () => Date.now() + LEASE_MS + 5_000,
        holderId: 'worker-B',
      });
      expect((await runSync(b, f.seeded.subscriptionId)).outcome).toBe('synced');
      const gone = [...(await f.mirror()).values()].find(
        (d) => d.summary === 'changed while A stalls',
      )!;
      await f.cal.events.delete({ calendarId: f.seeded.calendarId, eventId: gone.id as string });
      expect((await runSync(b, f.seeded.subscriptionId)).outcome).toBe('synced');
      held.open();
      expect(await runA).toBeInstanceOf(LeaseLostError);
      // A's page would have resurrected the deleted event.
      const m = await f.sameAsGoogle();
      expect(m.has(gone.id as string)).toBe(false);
    });
  },
);
