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
});
