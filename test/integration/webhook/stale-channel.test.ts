// Integration (Firestore emulator + simulator): notifications on channels the subscription does not hold — in flight during a renewal, retired, or unknown (issues 13.4, 15.2).
import { describe, expect, it } from 'vitest';
import type { WatchedChannel } from '../../../functions/calendar/api.js';
import { createCalendarApi } from '../../../functions/calendar/client.js';
import { claimDocument } from '../../../functions/channels/claim.js';
import { rotateChannel, type ChannelDeps } from '../../../functions/channels/lifecycle.js';
import { createLogger } from '../../../functions/log.js';
import {
  readRetiredChannel,
  recordRetiredChannel,
} from '../../../functions/store/retired-channels.js';
import { paths, type SubscriptionDoc } from '../../../functions/store/schema.js';
import { handleSyncMessage, mustRedeliver } from '../../../functions/sync/handle.js';
import { emulatorsMissing } from '../../harness/env.js';
import { syncFixture, type Channel } from '../sync/helpers.js';

const SECRET = Buffer.from('stale-channel-test-secret-0123456789abcdef');

describe.skipIf(emulatorsMissing() !== '')(
  'notifications on channels a subscription does not hold',
  () => {
    // Per test: a fresh simulator, user, and a subscription whose channel (f.channel) is real.
    const f = syncFixture({ name: 'stale', channel: 'watch' });

    const channelDeps = (): ChannelDeps => ({
      db: f.db,
      api: createCalendarApi(
        {
          calendarApiUrl: `${f.sim.url}/`,
          oauth: {
            clientId: 'calsync-test-client',
            clientSecret: 'calsync-test-secret',
            tokenUrl: `${f.sim.url}/token`,
          },
          googleTimeoutMs: 5_000,
          retryBudgetMs: 0,
        },
        f.seeded.refreshToken,
      ),
      config: {
        webhookUrl: 'http://127.0.0.1:9/hook',
        channelSecrets: { current: SECRET, previous: undefined },
        channelTtlSeconds: 3600,
      },
      logger: createLogger({ write: () => {} }),
      now: Date.now,
    });
    /** channels.stop calls Google received (the request log carries no body: `isLive` tells which). */
    const stops = async () =>
      (await f.ctl.requests()).filter((r) => r.path === '/calendar/v3/channels/stop');
    const isLive = async (channelId: string) =>
      (await f.ctl.channels()).some((c) => c.id === channelId && !c.stopped && !c.expired);
    const openChannel = async (id: string): Promise<Channel> => {
      const { data } = await f.cal.events.watch({
        calendarId: f.seeded.calendarId,
        requestBody: { id, type: 'web_hook', address: 'http://127.0.0.1:9/hook' },
      });
      return { id: data.id!, resourceId: data.resourceId! };
    };

    /** One real renewal: claim, events.watch, store (new current, old previous), stop the old. */
    async function renew(holder: string, beforeStore?: (watched: WatchedChannel) => Promise<void>) {
      const deps = channelDeps();
      const path = paths.subscription(f.seeded.subscriptionId);
      const claim = await claimDocument<SubscriptionDoc>(
        f.db,
        path,
        holder,
        Date.now(),
        60_000,
        () => true,
      );
      if (claim.kind !== 'claimed') throw new Error(`no claim: ${claim.kind}`);
      return rotateChannel(
        deps,
        {
          path,
          tokenId: f.seeded.subscriptionId,
          watch: async (request, signal) => {
            const watched = await deps.api.watchEvents(f.seeded.calendarId, request, signal);
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
      const d = f.deps();
      let inFlight: Channel | undefined;
      const results: string[] = [];
      const rotated = await renew('renewal-run-1', async (watched) => {
        // Google notifies on the new channel before rotateChannel has stored it.
        inFlight = { id: watched.id, resourceId: watched.resourceId };
        const r = await handleSyncMessage(d, f.notification({ channelId: watched.id }));
        results.push(r.outcome);
        expect(mustRedeliver(r)).toBe(true);
      });
      expect(results).toEqual(['channel_in_flight']);
      expect(rotated.kind).toBe('rotated');
      // Only the replaced channel was stopped (by renewal); the new one lives and is the current one.
      expect(await stops()).toHaveLength(1);
      expect(await isLive(f.channel.id)).toBe(false);
      expect(await isLive(inFlight!.id)).toBe(true);
      expect((await f.readSub()).channel?.id).toBe(inFlight!.id);
      // Redelivered after the store, the same message is handled as the current channel's.
      const again = await handleSyncMessage(d, f.notification({ channelId: inFlight!.id }));
      expect(['synced', 'covered']).toContain(again.outcome);
      expect(mustRedeliver(again)).toBe(false);
    });

    it('the channel renewal replaced is recorded as retired (stopped): a replayed notification costs no Google call', async () => {
      await renew('renewal-run-1'); // the first channel → previous (stopped, recorded)
      await renew('renewal-run-2'); // previous dropped: the first channel is only a record now
      expect(await readRetiredChannel(f.db, f.channel.id)).toMatchObject({
        channelId: f.channel.id,
        ownerId: f.seeded.subscriptionId,
        stopped: true,
      });
      const d = f.deps();
      await f.ctl.clearRequests();
      for (let i = 0; i < 20; i++) {
        const r = await handleSyncMessage(d, f.notification({ messageNumber: 100 + i }));
        expect(r.outcome).toBe('stale_channel');
        expect(mustRedeliver(r)).toBe(false);
      }
      // No token refresh, no channels.stop, no list: nothing reached Google.
      expect(await f.ctl.requests()).toHaveLength(0);
    });

    it('a retired channel whose stop failed is stopped by the worker exactly once, however many replays race', async () => {
      const orphan = await openChannel(`orphan-${f.n}`);
      await recordRetiredChannel(f.db, orphan, f.seeded.subscriptionId, false, Date.now());
      await f.ctl.clearRequests();
      const d = f.deps();
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          handleSyncMessage(
            d,
            f.notification({
              channelId: orphan.id,
              resourceId: orphan.resourceId,
              messageNumber: 10 + i,
            }),
          ),
        ),
      );
      expect(new Set(outcomes.map((o) => o.outcome))).toEqual(new Set(['stale_channel']));
      expect(await stops()).toHaveLength(1);
      expect(await isLive(orphan.id)).toBe(false);
      expect(await readRetiredChannel(f.db, orphan.id)).toMatchObject({ stopped: true });
      await f.ctl.clearRequests();
      await handleSyncMessage(
        d,
        f.notification({ channelId: orphan.id, resourceId: orphan.resourceId, messageNumber: 50 }),
      );
      expect(await f.ctl.requests()).toHaveLength(0);
    });

    it('an unknown channel no renewal is storing is acknowledged and left alone (not stopped)', async () => {
      const stray = await openChannel(`stray-${f.n}`);
      await f.ctl.clearRequests();
      const r = await handleSyncMessage(
        f.deps(),
        f.notification({ channelId: stray.id, resourceId: stray.resourceId }),
      );
      expect(r.outcome).toBe('stale_channel');
      expect(mustRedeliver(r)).toBe(false);
      expect(await stops()).toHaveLength(0);
      expect(await isLive(stray.id)).toBe(true);
    });

    it('an expired renewal claim no longer holds a stray channel in redelivery', async () => {
      await f.db.doc(paths.subscription(f.seeded.subscriptionId)).update({
        renewalClaim: { holder: 'dead-run', until: new Date(Date.now() - 1000) },
      });
      const r = await handleSyncMessage(f.deps(), f.notification({ channelId: 'never-stored' }));
      expect(r.outcome).toBe('stale_channel');
    });
  },
);
