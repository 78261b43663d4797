// The change feed keeps one calendar's order across workers: a run publishes under its lease, so a later run cannot announce a newer version first.
import { describe, expect, it } from 'vitest';
import type { ChangeMessage } from '../../../functions/changes/collect.js';
import type { ChangePublisher } from '../../../functions/changes/publisher.js';
import { runSync } from '../../../functions/sync/engine.js';
import { handleSyncMessage } from '../../../functions/sync/handle.js';
import { emulatorsMissing } from '../../harness/env.js';
import { syncFixture } from '../sync/helpers.js';

const CHANNEL = { id: 'ch-order', resourceId: 'res-order' };

describe.skipIf(emulatorsMissing() !== '')('change feed order', () => {
  const f = syncFixture({ name: 'order', simulator: { seed: 5 }, channel: CHANNEL });

  it('A commits and is slow to publish; B, notified of a newer version meanwhile, announces after A', async () => {
    const { data: ev } = await f.cal.events.insert({
      calendarId: f.seeded.calendarId,
      requestBody: {
        summary: 'v1',
        start: { dateTime: '2026-08-01T10:00:00Z' },
        end: { dateTime: '2026-08-01T11:00:00Z' },
      },
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
    await f.cal.events.patch({
      calendarId: f.seeded.calendarId,
      eventId: ev.id!,
      requestBody: { summary: 'v2' },
    });
    const a = handleSyncMessage(f.deps({ changes: feed, holderId: 'A' }), f.notification());
    await inPublish; // A committed v2 and is publishing
    await f.cal.events.patch({
      calendarId: f.seeded.calendarId,
      eventId: ev.id!,
      requestBody: { summary: 'v3' },
    });
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
});
