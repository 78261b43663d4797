// Change feed delivery: one calendar's order kept across workers (a run publishes under its lease), and nothing lost when a run crashes between pages (the outbox).
import { describe, expect, it } from 'vitest';
import type { ChangeEntry, ChangeMessage } from '../../../functions/changes/collect.js';
import type { ChangePublisher } from '../../../functions/changes/publisher.js';
import { runSync } from '../../../functions/sync/engine.js';
import { handleSyncMessage } from '../../../functions/sync/handle.js';
import { emulatorsMissing } from '../../harness/env.js';
import { crashAfterPage, insertMany, syncFixture } from '../sync/helpers.js';

const CHANNEL = { id: 'ch-order', resourceId: 'res-order' };

describe.skipIf(emulatorsMissing() !== '')('change feed delivery', () => {
  const f = syncFixture({ name: 'order', simulator: { seed: 5 }, channel: CHANNEL });

  /** A change feed that keeps what it is given. */
  function recordingFeed(): { published: ChangeMessage[]; feed: ChangePublisher } {
    const published: ChangeMessage[] = [];
    return { published, feed: { publish: async (m) => void published.push(...m) } };
  }

  /**
   * `events` synced events, each then changed to `v2`; a notified run over pages of `perPage`
   * killed after page `page` (its pages' writes and outbox entries stored, nothing committed).
   */
  async function killedMidSync(events: number, perPage: number, page: number) {
    const ids = await insertMany(f.cal, f.seeded.calendarId, events);
    await runSync(f.deps(), f.seeded.subscriptionId);
    for (const id of ids) await f.patch(id, { summary: 'v2' });
    const { published, feed } = recordingFeed();
    const message = f.notification();
    const crashing = f.deps({
      changes: feed,
      config: { maxResults: perPage },
      hooks: crashAfterPage(page, `killed after page ${page}`),
    });
    await expect(handleSyncMessage(crashing, message)).rejects.toThrow(`killed after page ${page}`);
    return { ids, published, feed, message };
  }

  const outbox = () => f.db.collection(`subscriptions/${f.seeded.subscriptionId}/outbox`);

  /** Entries as a crashed run stored them, before the writes they announce. */
  const storeCrashedEntries = (entries: ChangeEntry[]) =>
    outbox().doc('000000000000000-0-0_000001').set({ entries, at: new Date().toISOString() });

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
    const { ids, published, feed, message } = await killedMidSync(12, 4, 1);
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
    expect((await outbox().get()).size).toBe(0);
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
    await storeCrashedEntries([
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
    ]);
    const { published, feed } = recordingFeed();
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
    const { ids, published, feed, message } = await killedMidSync(12, 4, 1);
    // An entry whose batch never landed (entries are stored before their writes): a phantom.
    await storeCrashedEntries([
      {
        docId: 'phantom',
        eventId: 'phantom',
        beforeLive: false,
        beforeExists: false,
        now: 'live',
        updated: '2026-08-01T00:00:00.000Z',
      },
    ]);
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
    expect((await outbox().get()).size).toBe(0);
  });

  it('a run died after writing pages, then the user revokes access: the run that finds out announces those writes before syncing stops', async () => {
    const { ids, published, feed, message } = await killedMidSync(6, 3, 0);
    await f.ctl.revoke(f.seeded.calendarId);
    const res = await handleSyncMessage(f.deps({ changes: feed }), message);
    expect(res.outcome).toBe('needs_reauth');
    const mirror = await f.mirror();
    const written = ids.filter((id) => mirror.get(id)!.summary === 'v2');
    expect(written).toHaveLength(3);
    expect(published.map((m) => m.eventId).sort()).toEqual([...written].sort());
    expect((await outbox().get()).size).toBe(0);
  });
});
