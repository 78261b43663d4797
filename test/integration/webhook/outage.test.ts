// Integration: a Pub/Sub outage (our own emulator, stopped then restarted) → 503, and Google's retry is then published once.
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../../harness/emulators.js';
import { emulatorsMissing, uniqueProjectId, useEmulators } from '../../harness/env.js';
import {
  SUBSCRIPTION_ID,
  notificationHeaders,
} from '../../fixtures/notifications/notifications.js';
import {
  captureStdout,
  close,
  createTopicAndSubscription,
  pullFor,
  send,
  startWebhook,
  TOPIC,
} from './helpers.js';

const SUBSCRIPTION = 'outage-test';
const PUBLISH_TIMEOUT_MS = 1500;

/** Delivers like Google: 500/502/503/504 are retried (here every 500 ms, up to 60 s); returns the final status. */
async function deliverLikeGoogle(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; attempts: number }> {
  const deadline = Date.now() + 60_000;
  let status = 0;
  let attempts = 0;
  while (Date.now() < deadline) {
    attempts += 1;
    status = (await send(url, headers)).status;
    if (![500, 502, 503, 504].includes(status)) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  return { status, attempts };
}

describe.skipIf(emulatorsMissing() !== '')('webhook during a Pub/Sub outage', () => {
  const projectId = uniqueProjectId('outage');
  let emulator: RunningEmulator;
  let server: Server;
  let url: string;
  const logs = captureStdout();

  beforeAll(async () => {
    expect(useEmulators()).toBe(true);
    // This file's webhook publishes to an emulator of its own, which the test can stop.
    emulator = await startEmulator('pubsub');
    ({ url, server } = await startWebhook({
      pubsubHost: emulator.host,
      projectId,
      subscription: SUBSCRIPTION,
      env: { CALSYNC_PUBLISH_TIMEOUT_MS: String(PUBLISH_TIMEOUT_MS) },
    }));
  });

  afterAll(async () => {
    await close(server);
    await emulator?.stop();
  });

  it('answers 503 while Pub/Sub is down and publishes the retried notification exactly once', async () => {
    const first = notificationHeaders({ 'X-Goog-Message-Number': '100' });
    const second = notificationHeaders({ 'X-Goog-Message-Number': '101' });

    // Healthy. A freshly started emulator can be slow to answer its very first call, so deliver as
    // Google does (retry 503 until 2xx); no attempt that answered 503 may leave a publish behind.
    expect(await deliverLikeGoogle(url, first)).toMatchObject({ status: 204 });
    const warm = await pullFor(emulator.host, projectId, SUBSCRIPTION, 500);
    expect(warm.map((m) => m.data.messageNumber)).toEqual([100]);

    // Outage: every delivery attempt of the next notification is a prompt 503.
    const port = emulator.port;
    await emulator.stop();
    // (That the 503 comes at the publish timeout and not later is the handler's unit test, on a
    // fake clock; here only what happened is checked, never how long it took.)
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await send(url, second);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
    }
    const errors = logs.entries().filter((e) => e.severity === 'ERROR');
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(errors[0]).toMatchObject({ subscriptionId: SUBSCRIPTION_ID, messageNumber: 101 });
    for (const e of errors) {
      expect(['publish_timeout', 'publish_failed']).toContain(e.reason);
      expect(e.message).toBe('publish failed; asking Google to retry');
    }

    // Pub/Sub is back (same address, fresh state): Google keeps retrying until a 2xx.
    emulator = await startEmulator('pubsub', { port });
    await createTopicAndSubscription(emulator.host, projectId, TOPIC, SUBSCRIPTION);
    const retried = await deliverLikeGoogle(url, second);
    expect(retried.status, `after ${retried.attempts} attempts`).toBe(204);

    const delivered = await pullFor(emulator.host, projectId, SUBSCRIPTION, 3000);
    expect(delivered.map((m) => m.data.messageNumber)).toEqual([101]);
    expect(delivered[0]?.attributes).toEqual({
      kind: 'notification',
      subscriptionId: SUBSCRIPTION_ID,
      state: 'exists',
    });
  });
});
