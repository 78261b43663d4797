// Change feed delivery: one calendar's order kept across workers (a run publishes under its lease), and nothing lost when a run crashes between pages (the outbox).
import { describe, expect, it } from 'vitest';
import type { ChangeMessage } from '../../../functions/changes/collect.js';
import type { ChangePublisher } from '../../../functions/changes/publisher.js';
import { runSync } from '../../../functions/sync/engine.js';
import { handleSyncMessage } from '../../../functions/sync/handle.js';
import { emulatorsMissing } from '../../harness/env.js';
import { crashAfterPage, insertMany, syncFixture } from '../sync/helpers.js';

const CHANNEL = { id: 'ch-order', resourceId: 'res-order' };

describe.skipIf(emulatorsMissing() !== '')('change feed delivery', () => {
  const f = syncFixture({ name: 'order', simulator: { seed: 5 }, channel: CHANNEL });

  it('A commits and is slow to publish; B, notified of a newer version meanwhile, announces after A', async () => {
    const ev = await f.insert({
      summary: 'v1',
      start: { dateTime: '2026-08-01T10:00:00Z' },
      end: { dateTime: '2026-08-01T11:00:00Z' },
    });
    await runSync(f.deps(), f.seeded.subscriptionId);
    const published: ChangeMessage[] = [];
    let slowOnce = true;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inPublish = new Promise<void>((r) => (entered = r));
    const feed: ChangePublisher = {
      async publish(messages) {
        if (slowOnce) {
          slowOnce = false;
          entered();
          await held;
        }
        published.push(...messages);
      },
    };
    await f.patch(ev.id!, { summary: 'v2' });
    const a = handleSyncMessage(f.deps({ changes: feed, holderId: 'A' }), f.notification());
    await inPublish; // A committed v2 and is publishing
    await f.patch(ev.id!, { summary: 'v3' });
    const b = await handleSyncMessage(f.deps({ changes: feed, holderId: 'B' }), f.notification());
    expect(b.outcome).toBe('busy'); // A still holds the lease through its publish
    release();
    const resA = await a;
    expect(resA.outcome).toBe('synced');
    expect(resA.sync!.runs).toBe(2); // B's notification made A run once more
    const updates = published.filter((m) => m.eventId === ev.id);
    expect(updates.map((m) => m.change)).toEqual(['updated', 'updated']);
    const [first, second] = updates.map((m) => Date.parse(m.updated!));
    expect(second!).toBeGreaterThan(first!); // a consumer ends on the newest version
    expect((await f.mirror()).get(ev.id!)!.summary).toBe('v3');
  });

  it('a run that wrote pages and crashed before its commit: the retry announces those changes (once)', async () => {
    const ids = await insertMany(f.cal, f.seeded.calendarId, 12);
    await runSync(f.deps(), f.seeded.subscriptionId);
    for (const id of ids) {
      await f.patch(id, { summary: 'v2' });
    }
    const published: ChangeMessage[] = [];
    const feed: ChangePublisher = { publish: async (m) => void published.push(...m) };
    const crashing = f.deps({
      changes: feed,
      config: { maxResults: 4 },
      hooks: crashAfterPage(1, 'killed after page 1'),
    });
    const message = f.notification();
    await expect(handleSyncMessage(crashing, message)).rejects.toThrow('killed after page 1');
    expect(published).toHaveLength(0); // nothing announced before a commit
    // Pages 0 and 1 are in the mirror; the redelivered message finds them unchanged.
    const retry = await handleSyncMessage(
      f.deps({ changes: feed, config: { maxResults: 4 } }),
      message,
    );
    expect(retry.outcome).toBe('synced');
    const updated = published.filter((m) => m.change === 'updated').map((m) => m.eventId);
    expect(updated.sort()).toEqual([...ids].sort()); // all twelve, each once
    expect(new Set(updated).size).toBe(updated.length);
    const outbox = await f.db.collection(`subscriptions/${f.seeded.subscriptionId}/outbox`).get();
    expect(outbox.size).toBe(0);
  });

  it('an outbox entry whose write never landed is not announced by the run that commits', async () => {
    const ev = await f.insert({
      summary: 'real',
      start: { dateTime: '2026-08-02T10:00:00Z' },
      end: { dateTime: '2026-08-02T11:00:00Z' },
    });
    await runSync(f.deps(), f.seeded.subscriptionId);
    await f.patch(ev.id!, { summary: 'real v2' });
    // A crashed run stored these and died before its batch: a created event the mirror never got,
    // and a newer version of a live one.
    await f.db
      .collection(`subscriptions/${f.seeded.subscriptionId}/outbox`)
      .doc('000000000000000-0-0_000001')
      .set({
        entries: [
          {
            docId: 'ghost',
            eventId: 'ghost',
            beforeLive: false,
            beforeExists: false,
            now: 'live',
            updated: '2026-08-01T00:00:00.000Z',
          },
          {
            docId: ev.id!,
            eventId: ev.id!,
            beforeLive: true,
            beforeExists: true,
            now: 'gone',
            updated: null,
          },
        ],
        at: new Date().toISOString(),
      });
    const published: ChangeMessage[] = [];
    const feed: ChangePublisher = { publish: async (m) => void published.push(...m) };
    const res = await handleSyncMessage(f.deps({ changes: feed }), f.notification());
    expect(res.outcome).toBe('synced');
    const mirror = await f.mirror();
    expect(published.map((m) => [m.eventId, m.change, m.updated])).toEqual([
      [ev.id!, 'updated', mirror.get(ev.id!)!.updated],
    ]);
  });

  // Soak seed 9930: a worker died holding the lease after writing pages whose announcements waited
  // in the outbox; Google then refused the calendar for good, no run committed again, and those
  // writes were never announced. The run that records the refusal announces the outbox — each
  // entry as the mirror holds it now, since entries are stored before their writes and a batch that
  // never landed must not be announced.
  it('a run died after writing pages, then Google refuses the calendar for good: the failing run announces what the mirror holds, nothing else', async () => {
    const ids = await insertMany(f.cal, f.seeded.calendarId, 12);
    await runSync(f.deps(), f.seeded.subscriptionId);
    for (const id of ids) await f.patch(id, { summary: 'v2' });
    const published: ChangeMessage[] = [];
    const feed: ChangePublisher = { publish: async (m) => void published.push(...m) };
    const message = f.notification();
    await expect(
      handleSyncMessage(
        f.deps({
          changes: feed,
          config: { maxResults: 4 },
          hooks: crashAfterPage(1, 'killed after page 1'),
        }),
        message,
      ),
    ).rejects.toThrow('killed after page 1');
    // An entry whose batch never landed (entries are stored before their writes): a phantom.
    const outboxCol = f.db.collection(`subscriptions/${f.seeded.subscriptionId}/outbox`);
    await outboxCol.doc('000000000000000-0-0_000001').set({
      entries: [
        {
          docId: 'phantom',
          eventId: 'phantom',
          beforeLive: false,
          beforeExists: false,
          now: 'live',
          updated: '2026-08-01T00:00:00.000Z',
        },
      ],
      at: new Date().toISOString(),
    });
    await f.ctl.addFault({
      method: 'GET',
      path: '/\\/events$/',
      status: 400,
      reason: 'badRequest',
      message: 'Bad Request',
      count: 50,
    });
    const refused = await handleSyncMessage(f.deps({ changes: feed }), message);
    expect(refused.outcome).toBe('failed');
    expect((await f.readSub()).status).toBe('error');
    const mirror = await f.mirror();
    const written = ids.filter((id) => mirror.get(id)!.summary === 'v2');
    expect(written).toHaveLength(8); // pages 0 and 1 of 4 events landed before the kill
    expect(published.map((m) => m.eventId).sort()).toEqual([...written].sort());
    for (const m of published) {
      expect(m.change).toBe('updated');
      expect(m.updated).toBe(mirror.get(m.eventId)!.updated); // the version the mirror holds
    }
    expect((await outboxCol.get()).size).toBe(0);
  });
  it('a run died after writing pages, then the user revokes access: the run that finds out announces those writes before syncing stops', async () => {
    const ids = await insertMany(f.cal, f.seeded.calendarId, 6);
    await runSync(f.deps(), f.seeded.subscriptionId);
    for (const id of ids) await f.patch(id, { summary: 'v2' });
    const published: ChangeMessage[] = [];
    const feed: ChangePublisher = { publish: async (m) => void published.push(...m) };
    const message = f.notification();
    await expect(
      handleSyncMessage(
        f.deps({
          changes: feed,
          config: { maxResults: 3 },
          hooks: crashAfterPage(0, 'killed after page 0'),
        }),
        message,
      ),
    ).rejects.toThrow('killed after page 0');
    await f.ctl.revoke(f.seeded.calendarId);
    const res = await handleSyncMessage(f.deps({ changes: feed }), message);
    expect(res.outcome).toBe('needs_reauth');
    const mirror = await f.mirror();
    const written = ids.filter((id) => mirror.get(id)!.summary === 'v2');
    expect(written).toHaveLength(3);
    expect(published.map((m) => m.eventId).sort()).toEqual([...written].sort());
    expect(
      (await f.db.collection(`subscriptions/${f.seeded.subscriptionId}/outbox`).get()).size,
    ).toBe(0);
  });
});
