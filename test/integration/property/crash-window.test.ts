// The crash window of the lease: a worker dies holding it; its own message, redelivered before the
// lease expires, finds the calendar "busy". Acknowledging it would leave the change to the 6-hourly
// safety net (Invariant 1: a message is acknowledged only once its change is in Firestore or provably
// covered by a later sync). So `busy` is never acknowledged (`mustRedeliver`): Pub/Sub brings the
// message back, and once the dead worker's lease expired the redelivery takes it over and syncs.
// Production numbers: lease 120 s, Pub/Sub backoff 10–600 s, 10 delivery attempts (infra/pubsub.tf).
import { describe, expect, it } from 'vitest';
import { acquireLease } from '../../../functions/store/lease.js';
import { runSync } from '../../../functions/sync/engine.js';
import { handleSyncMessage, mustRedeliver } from '../../../functions/sync/handle.js';
import { emulatorsMissing } from '../../harness/env.js';
import { syncFixture } from '../sync/helpers.js';

const CHANNEL = { id: 'ch-crash-window', resourceId: 'res-crash-window' };

describe.skipIf(emulatorsMissing() !== '')('crash window of the lease', () => {
  const f = syncFixture({ name: 'crashwin', channel: CHANNEL, scope: 'file' });

  it("a redelivery that finds a dead worker's lease is not acknowledged; after the lease expires it syncs the change", async () => {
    const s = f.seeded;
    const offset = { ms: 0 };
    const d = f.deps({ clock: () => Date.now() + offset.ms });
    expect((await runSync(d, s.subscriptionId)).outcome).toBe('synced');

    // A change, its notification M, and the worker that took M's lease dying without a trace.
    await f.insert({
      summary: 'announced, then the worker died',
      start: { dateTime: '2030-01-07T10:00:00Z' },
      end: { dateTime: '2030-01-07T11:00:00Z' },
    });
    const m = f.notification({ messageNumber: 7 });
    await acquireLease(f.db, s.subscriptionId, {
      holder: 'worker-that-was-killed',
      now: Date.now() + offset.ms,
      leaseMs: d.config.leaseMs,
      clockSkewMs: d.config.clockSkewMs,
      recheckMs: d.config.recheckMs ?? 0,
      trigger: { kind: 'notification', channelId: CHANNEL.id, messageNumber: 7 },
    });

    // Pub/Sub redelivers M before the lease runs out: busy, and NOT acknowledged.
    const redelivered = await handleSyncMessage(d, m);
    expect(redelivered.outcome).toBe('busy');
    expect(mustRedeliver(redelivered)).toBe(true);

    // The lease expires; no other notification comes. Pub/Sub's next redelivery takes over.
    offset.ms += d.config.leaseMs + 1000;
    const again = await handleSyncMessage(d, m);
    expect(again.outcome).toBe('synced');
    expect(mustRedeliver(again)).toBe(false);
    await f.sameAsGoogle();
  });
});
