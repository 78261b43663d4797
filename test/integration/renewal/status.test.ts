// Renewal and the status machine: no dead ends — error calendars keep their channel and are retried on their backoff, dead leases and orphan pending marks are picked up.
import { Timestamp } from '@google-cloud/firestore';
import { describe, expect, it } from 'vitest';
import { renewChannelsCore } from '../../../functions/renewal/core.js';
import { paths } from '../../../functions/store/schema.js';
import { emulatorsMissing } from '../../harness/env.js';
import { connectedUser, renewAndPull, worldFixture } from '../channels/world.js';

const HOUR = 3_600_000;

describe.skipIf(emulatorsMissing() !== '')(
  'renewal keeps every status but removed and needs_reauth moving',
  () => {
    const w = worldFixture('rstatus');

    const connected = (name: string) => connectedUser(w, name);

    it('error calendars: retried when their backoff is due (not before), and their channel is still renewed', async () => {
      const due = await connected('dora');
      const later = await connected('egon');
      const now = Date.now() + w.offset.ms;
      await due.ref.update({
        status: 'error',
        failures: 2,
        nextRetryAt: Timestamp.fromMillis(now - 1000),
        lastError: { code: 'forbidden', reason: 'x', at: Timestamp.fromMillis(now - HOUR) },
        // ... and its channel is about to expire.
        'channel.expiration': Timestamp.fromMillis(now + HOUR),
        channelExpiresAt: Timestamp.fromMillis(now + HOUR),
      });
      await later.ref.update({
        status: 'error',
        failures: 1,
        nextRetryAt: Timestamp.fromMillis(now + HOUR),
      });
      const channelBefore = (await due.read()).channel!.id;

      const { summary, messages } = await renewAndPull(w);
      expect(summary.failed).toEqual([]);
      expect(summary.retried).toBe(1);
      expect(summary.renewed).toBe(1);
      expect(messages.filter((m) => m.reason === 'retry').map((m) => m.subscriptionId)).toEqual([
        due.id,
      ]);
      expect(messages.some((m) => m.subscriptionId === later.id)).toBe(false);
      const after = await due.read();
      expect(after.channel!.id).not.toBe(channelBefore); // renewed although in error
      expect(after.status).toBe('error'); // only a successful sync clears it
    });

    it('a channel renewal Google refuses for good (403 forbidden) puts the calendar in error with its reason and next retry', async () => {
      const fay = await connected('fay');
      const now = Date.now() + w.offset.ms;
      await fay.ref.update({
        'channel.expiration': Timestamp.fromMillis(now + HOUR),
        channelExpiresAt: Timestamp.fromMillis(now + HOUR),
      });
      await w.simc.addFault({
        method: 'POST',
        path: '/\\/events\\/watch$/',
        status: 403,
        reason: 'forbidden',
        message: 'The administrator blocked the app',
        count: 1,
      });
      const { summary } = await renewAndPull(w);
      expect(summary.failed.map((f) => f.subscriptionId)).toContain(fay.id);
      const sub = await fay.read();
      expect(sub.status).toBe('error');
      expect(sub.lastError).toMatchObject({ code: 'forbidden' });
      expect(sub.nextRetryAt!.toMillis()).toBeGreaterThan(now);
      const cal = (await w.db.doc(paths.calendar(sub.uid, sub.calendarId)).get()).data();
      expect(cal?.sync).toMatchObject({ status: 'error', lastError: { code: 'forbidden' } });
      expect(cal?.sync?.nextRetryAt).not.toBeNull();
    });

    it('renewals that call Google are paced at CALSYNC_RENEW_PER_SECOND (Calendar API project quota)', async () => {
      const subs = [await connected('pia'), await connected('quirin'), await connected('rosa')];
      const now = Date.now() + w.offset.ms;
      for (const s of subs) {
        await s.ref.update({
          'channel.expiration': Timestamp.fromMillis(now + HOUR),
          channelExpiresAt: Timestamp.fromMillis(now + HOUR),
        });
      }
      const waits: number[] = [];
      const base = w.deps();
      const summary = await renewChannelsCore({
        ...base,
        config: { ...base.config, renewPerSecond: 1 },
        sleep: async (ms) => void waits.push(ms),
      });
      expect(summary.renewed).toBeGreaterThanOrEqual(3);
      // The first renewal starts at once; each further one waited for its slot, 1 s apart (the fake
      // sleep returns at once, so the slots stack up).
      expect(waits.length).toBe(summary.renewed - 1);
      for (const [i, ms] of waits.entries()) {
        expect(ms).toBeGreaterThan(0);
        expect(ms).toBeLessThanOrEqual(1000 * (i + 1));
      }
    });

    it("a dead worker's lease and a pending mark with no lease are re-enqueued, not left to redelivery alone", async () => {
      const dead = await connected('fritz');
      const orphan = await connected('gerda');
      const live = await connected('hans');
      const now = Date.now() + w.offset.ms;
      const lease = (holder: string, expiresAt: number) => ({
        holder,
        expiresAt: Timestamp.fromMillis(expiresAt),
        fence: 7,
      });
      await dead.ref.update({ lease: lease('dead', now - 10 * 60_000), pending: true });
      await orphan.ref.update({ lease: null, pending: true });
      await live.ref.update({ lease: lease('alive', now + 60_000), pending: true });
      await w.pull(100);

      const summary = await renewChannelsCore(w.deps());
      expect(summary.unstuck).toBe(2);
      const stuck = (await w.pull())
        .filter((m) => m.reason === 'stuck')
        .map((m) => m.subscriptionId);
      expect(stuck.sort()).toEqual([dead.id, orphan.id].sort());
    });

    it('a calendar whose first sync never completed is retried after a short grace, not the safety-net period', async () => {
      const fresh = await connected('ilse');
      await fresh.ref.update({ lastSyncedAt: null, syncToken: null });
      await w.pull(100);
      // Within the grace (it may be connecting right now): no sync enqueued (its daily roll may be).
      const syncsOf = (messages: Record<string, unknown>[]) =>
        messages.filter((m) => m.kind === 'resync' && m.subscriptionId === fresh.id);
      await renewChannelsCore(w.deps());
      expect(syncsOf(await w.pull())).toEqual([]);
      // Twenty minutes later (well inside the 6 h safety net): a full 'connect' sync is enqueued.
      await w.advance(20 * 60_000);
      await renewChannelsCore(w.deps());
      const messages = syncsOf(await w.pull());
      expect(messages).toEqual([expect.objectContaining({ reason: 'connect', full: true })]);
    });
  },
);
