// Integration (Firestore emulator + simulator): notifications on channels the subscription does not hold — in flight during a renewal, retired, or unknown (issues 13.4, 15.2).
import type { Firestore } from '@google-cloud/firestore';
import type { calendar_v3 } from '@googleapis/calendar';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCalendarApi } from '../../../functions/calendar/client.js';
import type { CalendarApi, WatchedChannel } from '../../../functions/calendar/api.js';
import { claimDocument } from '../../../functions/channels/claim.js';
import { rotateChannel, type ChannelDeps } from '../../../functions/channels/lifecycle.js';
import { createLogger } from '../../../functions/log.js';
import {
  readRetiredChannel,
  recordRetiredChannel,
} from '../../../functions/store/retired-channels.js';
import { paths, type SubscriptionDoc } from '../../../functions/store/schema.js';
import { handleSyncMessage, mustRedeliver } from '../../../functions/sync/handle.js';
import { emulatorsMissing, uniqueProjectId, useEmulators } from '../../harness/env.js';
import { googleCalendar, SimulatorClient } from '../../simulator/client.js';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import {
  insertMany,
  newFirestore,
  notification,
  readSub,
  seedSubscription,
  testDeps,
  type Seeded,
} from '../sync/helpers.js';

const SECRET = Buffer.from('stale-channel-test-secret-0123456789abcdef');

describe.skipIf(emulatorsMissing() !== '')(
  'notifications on channels a subscription does not hold',
  () => {
    let db: Firestore;
    let sim: Simulator;
    let ctl: SimulatorClient;
    let cal: calendar_v3.Calendar;
    let seeded: Seeded;
    let first: { id: string; resourceId: string };
    let n = 0;

    beforeAll(() => {
      expect(useEmulators()).toBe(true);
      db = newFirestore(uniqueProjectId('stale'));
    });
    afterAll(() => db.terminate());
    beforeEach(async () => {
      sim = await startSimulator({ seed: 23, rateLimitPerMinute: 1_000_000 });
      ctl = new SimulatorClient(sim.url);
      const email = `stale${++n}@example.com`;
      await ctl.createUser(email, `rt-${n}`);
      cal = googleCalendar(sim.url, `rt-${n}`).calendar;
      const { data } = await cal.events.watch({
        calendarId: email,
        requestBody: { id: `first-${n}`, type: 'web_hook', address: 'http://127.0.0.1:9/hook' },
      });
      first = { id: data.id!, resourceId: data.resourceId! };
      seeded = await seedSubscription(db, {
        uid: `u${n}`,
        calendarId: email,
        refreshToken: `rt-${n}`,
        channel: first,
      });
      await insertMany(cal, email, 3);
    });
    afterEach(() => sim.close());

    const api = (): CalendarApi =>
      createCalendarApi(
        {
          calendarApiUrl: `${sim.url}/`,
          oauth: {
            clientId: 'calsync-test-client',
            clientSecret: 'calsync-test-secret',
            tokenUrl: `${sim.url}/token`,
          },
          googleTimeoutMs: 5_000,
          retryBudgetMs: 0,
        },
        seeded.refreshToken,
      );
    const channelDeps = (): ChannelDeps => ({
      db,
      api: api(),
      config: {
        webhookUrl: 'http://127.0.0.1:9/hook',
        channelSecrets: { current: SECRET, previous: undefined },
        channelTtlSeconds: 3600,
      },
      logger: createLogger({ write: () => {} }),
      now: Date.now,
    });
    /** channels.stop calls Google received (the request log carries no body: `isLive` tells which). */
    const stopsOf = async () =>
      (await ctl.requests()).filter((r) => r.path === '/calendar/v3/channels/stop');
    const isLive = async (channelId: string) =>
      (await ctl.channels()).some((c) => c.id === channelId && !c.stopped && !c.expired);

    /** One real renewal: claim, events.watch, store (new current, old previous), stop the old. */
    async function renew(holder: string, beforeStore?: (watched: WatchedChannel) => Promise<void>) {
      const deps = channelDeps();
      const path = paths.subscription(seeded.subscriptionId);
      const claim = await claimDocument<SubscriptionDoc>(
        db,
        path,
        holder,
        Date.now(),
        60_000,
        () => true,
      );
      expect(claim.kind).toBe('claimed');
      if (claim.kind !== 'claimed') throw new Error('no claim');
      return rotateChannel(
        deps,
        {
          path,
          tokenId: seeded.subscriptionId,
          watch: async (request, signal) => {
            const watched = await deps.api.watchEvents(seeded.calendarId, request, signal);
            await beforeStore?.(watched);
            return watched;
          },
        },
        holder,
        undefined,
        { doc: claim.doc, writeTime: claim.writeTime },
      );
    }

    it('a notification on a channel renewal created but not yet stored is redelivered, never stopped', async () => {
      const d = testDeps(db, sim.url);
      let inFlight: { id: string; resourceId: string } | undefined;
      const results: string[] = [];
      const rotated = await renew('renewal-run-1', async (watched) => {
        // Google notifies on the new channel before rotateChannel has stored it.
        inFlight = { id: watched.id, resourceId: watched.resourceId };
        const r = await handleSyncMessage(d, notification(seeded, inFlight));
        results.push(r.outcome);
        expect(mustRedeliver(r)).toBe(true);
      });
      expect(results).toEqual(['channel_in_flight']);
      expect(rotated.kind).toBe('rotated');
      // The new channel was never stopped by the worker and is what the subscription now holds.
      expect(await stopsOf()).toHaveLength(1); // the replaced channel, by renewal
      expect(await isLive(first.id)).toBe(false);
      expect(await isLive(inFlight!.id)).toBe(true);
      expect((await readSub(db, seeded.subscriptionId)).channel?.id).toBe(inFlight!.id);
      // Redelivered after the store, the same message syncs.
      const again = await handleSyncMessage(d, notification(seeded, inFlight!));
      expect(again.outcome).toBe('synced');
    });

    it('the channel renewal replaced is recorded as retired (stopped): a replayed notification costs no Google call', async () => {
      await renew('renewal-run-1'); // first → previous (stopped, recorded)
      await renew('renewal-run-2'); // previous dropped: `first` is only in retiredChannels now
      const record = await readRetiredChannel(db, first.id);
      expect(record).toMatchObject({
        channelId: first.id,
        ownerId: seeded.subscriptionId,
        stopped: true,
      });
      const d = testDeps(db, sim.url);
      await ctl.clearRequests();
      for (let i = 0; i < 20; i++) {
        const r = await handleSyncMessage(
          d,
          notification(seeded, first, { messageNumber: 100 + i }),
        );
        expect(r.outcome).toBe('stale_channel');
        expect(mustRedeliver(r)).toBe(false);
      }
      // No token refresh, no channels.stop, no list: nothing reached Google.
      expect(await ctl.requests()).toHaveLength(0);
    });

    it('a retired channel whose stop failed is stopped by the worker exactly once, however many replays race', async () => {
      const { data } = await cal.events.watch({
        calendarId: seeded.calendarId,
        requestBody: { id: `orphan-${n}`, type: 'web_hook', address: 'http://127.0.0.1:9/hook' },
      });
      const orphan = { id: data.id!, resourceId: data.resourceId! };
      await recordRetiredChannel(db, orphan, seeded.subscriptionId, false, Date.now());
      await ctl.clearRequests();
      const d = testDeps(db, sim.url);
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          handleSyncMessage(d, notification(seeded, orphan, { messageNumber: 10 + i })),
        ),
      );
      expect(new Set(outcomes.map((o) => o.outcome))).toEqual(new Set(['stale_channel']));
      expect(await stopsOf()).toHaveLength(1);
      expect(await isLive(orphan.id)).toBe(false);
      expect(await readRetiredChannel(db, orphan.id)).toMatchObject({ stopped: true });
      await ctl.clearRequests();
      await handleSyncMessage(d, notification(seeded, orphan, { messageNumber: 50 }));
      expect(await ctl.requests()).toHaveLength(0);
    });

    it('an unknown channel no renewal is storing is acknowledged and left alone (not stopped)', async () => {
      const { data } = await cal.events.watch({
        calendarId: seeded.calendarId,
        requestBody: { id: `stray-${n}`, type: 'web_hook', address: 'http://127.0.0.1:9/hook' },
      });
      const stray = { id: data.id!, resourceId: data.resourceId! };
      await ctl.clearRequests();
      const r = await handleSyncMessage(testDeps(db, sim.url), notification(seeded, stray));
      expect(r.outcome).toBe('stale_channel');
      expect(mustRedeliver(r)).toBe(false);
      expect(await stopsOf()).toHaveLength(0);
      expect(await isLive(stray.id)).toBe(true);
    });

    it('an expired renewal claim no longer holds a stray channel in redelivery', async () => {
      await db.doc(paths.subscription(seeded.subscriptionId)).update({
        renewalClaim: { holder: 'dead-run', until: new Date(Date.now() - 1000) },
      });
      const r = await handleSyncMessage(
        testDeps(db, sim.url),
        notification(seeded, { id: 'never-stored', resourceId: first.resourceId }),
      );
      expect(r.outcome).toBe('stale_channel');
    });
  },
);
