// Access tokens are cached per instance: syncs of the same user in one process refresh the token once (simulator's /token count).
import { describe, expect, it } from 'vitest';
import { runSync } from '../../../functions/sync/engine.js';
import { emulatorsMissing } from '../../harness/env.js';
import { syncFixture } from './helpers.js';

describe.skipIf(emulatorsMissing() !== '')('OAuth access tokens per instance', () => {
  const f = syncFixture({ name: 'oauth-cache', simulator: { seed: 14 } });
  const tokenRequests = async () =>
    (await f.ctl.requests()).filter((r) => r.path === '/token').length;

  it('two syncs of the same user (each with its own CalendarApi) refresh the token once', async () => {
    await f.insert({
      summary: 'first',
      start: { dateTime: '2026-03-01T10:00:00Z' },
      end: { dateTime: '2026-03-01T11:00:00Z' },
    });
    await f.ctl.clearRequests();
    const first = await runSync(f.deps(), f.seeded.subscriptionId, { trigger: 'connect' });
    expect(first).toMatchObject({ outcome: 'synced', full: true, writes: 1 });
    expect(await tokenRequests()).toBe(1);
    await f.insert({
      summary: 'second',
      start: { dateTime: '2026-03-02T10:00:00Z' },
      end: { dateTime: '2026-03-02T11:00:00Z' },
    });
    // Another deps object (another factory), as a later message in the same instance would have.
    const second = await runSync(f.deps(), f.seeded.subscriptionId);
    expect(second).toMatchObject({ outcome: 'synced', writes: 1 });
    expect(await tokenRequests()).toBe(1);
  });
});
