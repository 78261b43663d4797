// The status machine on the worker side: permanent answers acknowledged and backed off, transient streaks end in `error`, scopes, removal wins, quarantine.
import type { Timestamp } from '@google-cloud/firestore';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../functions/log.js';
import { leaseFence } from '../../../functions/store/fence.js';
import { paths } from '../../../functions/store/schema.js';
import { writeQuarantining } from '../../../functions/sync/quarantine.js';
import { runSync } from '../../../functions/sync/engine.js';
import { handleSyncMessage } from '../../../functions/sync/handle.js';
import { markCalendarRemoved } from '../../../functions/sync/remove.js';
import { emulatorsMissing } from '../../harness/env.js';
import { firestoreFixture } from '../../harness/fixtures.js';
import { insertMany, mirror, resync, syncFixture } from './helpers.js';

const CHANNEL = { id: 'ch-status', resourceId: 'res-status' };
const HOUR = 3_600_000;

describe.skipIf(emulatorsMissing() !== '')('sync status machine', () => {
  const f = syncFixture({ name: 'status', simulator: { seed: 17 }, channel: CHANNEL });

  const calendarDoc = async () => (await f.calendarDoc())!;
  const eventsFault = (status: number, reason: string, count: number) =>
    f.ctl.addFault({ method: 'GET', path: '/\\/events$/', status, reason, count });

  it('a permanent 403 is recorded, acknowledged and backed off (1 h, 2 h, … 24 h); a notification retries it', async () => {
    await insertMany(f.cal, f.seeded.calendarId, 3);
    const d = f.deps();
    await runSync(d, f.seeded.subscriptionId);
    await eventsFault(403, 'forbidden', 1);
    const t0 = Date.now();
    const first = await handleSyncMessage(d, f.notification()); // resolves: acknowledged
    expect(first.outcome).toBe('failed');
    let sub = await f.readSub();
    expect(sub.status).toBe('error');
    expect(sub.lastError).toMatchObject({ code: 'forbidden' });
    expect(sub.failures).toBe(1);
    const retry1 = sub.nextRetryAt!.toMillis() - t0;
    expect(retry1).toBeGreaterThanOrEqual(HOUR - 1000);
    expect(retry1).toBeLessThan(HOUR + 60_000);
    const doc = await calendarDoc();
    expect(doc.sync).toMatchObject({ status: 'error', lastError: { code: 'forbidden' } });
    expect((doc.sync.nextRetryAt as Timestamp).toMillis()).toBe(sub.nextRetryAt!.toMillis());
    expect(sub.lease).toBeNull();

    // Still refused: the backoff doubles; after many failures it is capped at 24 h.
    await eventsFault(403, 'forbidden', 1);
    await handleSyncMessage(d, f.notification());
    sub = await f.readSub();
    expect(sub.failures).toBe(2);
    expect(sub.nextRetryAt!.toMillis() - Date.now()).toBeGreaterThan(2 * HOUR - 60_000);
    await f.db.doc(paths.subscription(f.seeded.subscriptionId)).update({ failures: 9 });
    await eventsFault(403, 'forbidden', 1);
    await handleSyncMessage(d, f.notification());
    sub = await f.readSub();
    expect(sub.nextRetryAt!.toMillis() - Date.now()).toBeLessThanOrEqual(24 * HOUR);
    expect(sub.nextRetryAt!.toMillis() - Date.now()).toBeGreaterThan(23 * HOUR);

    // The permission is back: the next notification syncs and clears everything.
    await f.insert({
      summary: 'after the error',
      start: { dateTime: '2026-05-01T10:00:00Z' },
      end: { dateTime: '2026-05-01T11:00:00Z' },
    });
    expect((await handleSyncMessage(d, f.notification())).outcome).toBe('synced');
    sub = await f.readSub();
    expect(sub).toMatchObject({
      status: 'active',
      failures: 0,
      lastError: null,
      nextRetryAt: null,
    });
    expect((await calendarDoc()).sync).toMatchObject({
      status: 'active',
      lastError: null,
      nextRetryAt: null,
    });
    await f.sameAsGoogle();
  });

  it('a 400 that is not about the sync token is permanent too (after one full-sync attempt)', async () => {
    const d = f.deps();
    await runSync(d, f.seeded.subscriptionId);
    await eventsFault(400, 'badRequest', 2);
    const res = await handleSyncMessage(d, f.notification());
    expect(res.outcome).toBe('failed');
    expect(await f.readSub()).toMatchObject({
      status: 'error',
      lastError: { code: 'bad_request' },
    });
  });

  it('transient failures are redelivered; a streak of them ends in error with a scheduled retry', async () => {
    const d = f.deps({
      config: { retryBudgetMs: 0, transientFailuresBeforeError: 3 },
    });
    await runSync(d, f.seeded.subscriptionId);
    await eventsFault(503, 'backendError', 1000);
    const m = f.notification();
    for (let i = 1; i <= 3; i++) {
      await expect(handleSyncMessage(d, m)).rejects.toThrow();
      const sub = await f.readSub();
      expect(sub.failures).toBe(i);
      expect(sub.status).toBe(i < 3 ? 'active' : 'error');
      expect(sub.lastError).toMatchObject({ code: 'transient' });
    }
    expect((await f.readSub()).nextRetryAt).not.toBeNull();
    await f.ctl.clearFaults();
    expect((await handleSyncMessage(d, m)).outcome).toBe('synced');
    expect((await f.readSub()).status).toBe('active');
  });

  it('fewer scopes granted than asked: needs_reauth naming the missing scope, acknowledged', async () => {
    const d = f.deps();
    await runSync(d, f.seeded.subscriptionId);
    await eventsFault(403, 'insufficientPermissions', 1);
    const res = await handleSyncMessage(d, f.notification());
    expect(res.outcome).toBe('needs_reauth');
    const sub = await f.readSub();
    expect(sub.status).toBe('needs_reauth');
    expect(sub.lastError).toMatchObject({ code: 'insufficient_scope' });
    expect(sub.lastError!.reason).toContain('https://www.googleapis.com/auth/calendar.readonly');
    expect((await calendarDoc()).sync.status).toBe('needs_reauth');
  });

  it('a removal during a sync wins: the sync writes nothing more and does not set active again', async () => {
    await insertMany(f.cal, f.seeded.calendarId, 30);
    const base = f.deps();
    await runSync(base, f.seeded.subscriptionId);
    await f.ctl.expireSyncTokens(f.seeded.calendarId);
    const d = f.deps({
      config: { maxResults: 10 },
      hooks: {
        async afterPage(i) {
          if (i !== 0) return;
          // The calendar-list reconcile (or a disconnect) removes the calendar right now.
          const sub = await f.readSub();
          await markCalendarRemoved(base, f.seeded.subscriptionId, sub, undefined, 'test removal');
        },
      },
    });
    await expect(handleSyncMessage(d, f.notification())).rejects.toThrow();
    const sub = await f.readSub();
    expect(sub.status).toBe('removed');
    expect((await calendarDoc()).sync.status).toBe('removed');
    expect((await f.mirror()).size).toBe(0);
    // Any later sync request is acknowledged as inactive, nothing is written.
    expect((await handleSyncMessage(base, resync(f.seeded))).outcome).toBe('inactive');
    expect((await f.mirror()).size).toBe(0);
  });

  it('an event Firestore refuses (over 1 MiB) is stored as a flagged stub; the sync goes on and counts it', async () => {
    await insertMany(f.cal, f.seeded.calendarId, 3);
    const d = f.deps();
    await runSync(d, f.seeded.subscriptionId);
    const { data: big } = await f.cal.events.insert({
      calendarId: f.seeded.calendarId,
      requestBody: {
        summary: 'a huge description',
        // Under the simulator's 1 MiB request cap, over what calsync lets through untrimmed.
        description: 'x'.repeat(1_020_000),
        start: { dateTime: '2026-06-01T10:00:00Z' },
        end: { dateTime: '2026-06-01T11:00:00Z' },
      },
    });
    const small = await f.insert({
      summary: 'an ordinary one',
      start: { dateTime: '2026-06-02T10:00:00Z' },
      end: { dateTime: '2026-06-02T11:00:00Z' },
    });
    const tokenBefore = (await f.readSub()).syncToken;
    const res = await handleSyncMessage(d, f.notification());
    expect(res.outcome).toBe('synced');
    expect(res.sync!.quarantined).toBe(1);
    const m = await f.mirror();
    expect(m.get(small.id!)?.summary).toBe('an ordinary one');
    const stub = m.get(big.id!)!;
    expect(stub.etag).toBe(big.etag);
    expect(stub.summary).toBe('a huge description');
    expect(stub.description).toBeUndefined();
    expect(stub.calsync).toMatchObject({
      quarantine: {
        reason: 'document over 1 MiB',
        droppedFields: expect.arrayContaining(['description']),
      },
    });
    expect((stub.startAt as Timestamp).toDate().toISOString()).toBe('2026-06-01T10:00:00.000Z');
    expect((await f.readSub()).syncToken).not.toBe(tokenBefore);
    expect((await calendarDoc()).sync.quarantined).toBe(1);
    expect(d.lines.some((l) => l.message === 'event quarantined' && l.eventId === big.id)).toBe(
      true,
    );
  });
});

describe.skipIf(emulatorsMissing() !== '')('quarantine at the store', () => {
  const fs = firestoreFixture('quar');

  it('a batch Firestore refuses is written one by one; the refused event becomes a stub, the rest land', async () => {
    const db = fs.db;
    const cal = { uid: 'q', calendarId: 'q@example.com' };
    let deep: Record<string, unknown> = { v: 'x' };
    for (let i = 0; i < 25; i++) deep = { d: deep };
    const op = (id: string, extra: Record<string, unknown> = {}) => ({
      type: 'set' as const,
      docId: id,
      event: {
        id,
        etag: '"1"',
        summary: id,
        start: { dateTime: '2026-01-01T10:00:00Z' },
        end: { dateTime: '2026-01-01T11:00:00Z' },
        ...extra,
      },
      startAt: Date.parse('2026-01-01T10:00:00Z'),
      endAt: Date.parse('2026-01-01T11:00:00Z'),
    });
    const lines: Record<string, unknown>[] = [];
    const result = await writeQuarantining(
      [op('a'), op('bad', { extendedProperties: { private: deep } }), op('c')],
      {
        db,
        cal,
        fence: leaseFence(db, { subscriptionId: 's_q', fence: 1, holder: 'h' }),
        now: Date.now,
        logger: createLogger({
          write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>),
        }),
      },
    );
    expect(result).toEqual({ writes: 3, deletes: 0, quarantined: 1 });
    const m = await mirror(db, cal.uid, cal.calendarId);
    expect([...m.keys()].sort()).toEqual(['a', 'bad', 'c']);
    expect(m.get('bad')!.extendedProperties).toBeUndefined();
    expect(m.get('bad')!.calsync).toMatchObject({
      quarantine: { droppedFields: ['extendedProperties'] },
    });
    expect(
      String((m.get('bad')!.calsync as { quarantine: { reason: string } }).quarantine.reason),
    ).toMatch(/refused by Firestore/);
    expect(lines.some((l) => l.message === 'event quarantined' && l.eventId === 'bad')).toBe(true);
  });
});
