// Integration: the registered `webhook` target over real HTTP (functions-framework) publishing to the Pub/Sub emulator.
import type { Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { signChannelToken } from '../../../functions/channels/token.js';
import { emulatorsMissing, uniqueProjectId, useEmulators } from '../../harness/env.js';
import {
  CHANNEL_ID,
  CURRENT_SECRET,
  PREVIOUS_SECRET,
  RESOURCE_ID,
  SUBSCRIPTION_ID,
  notificationHeaders,
  secrets,
  rejectedNotifications,
  unmaskedSeedHeaders,
} from '../../fixtures/notifications/notifications.js';
import {
  captureStdout,
  close,
  createTopicAndSubscription,
  listen,
  pullFor,
  send,
  type Pulled,
} from './helpers.js';

const TOPIC = 'calendar-notifications';
const SUBSCRIPTION = 'webhook-test';
/** Long enough for a publish that slipped through to arrive (the webhook answers after the ack anyway). */
const QUIET_MS = 700;

describe.skipIf(emulatorsMissing() !== '')('webhook target against the Pub/Sub emulator', () => {
  const projectId = uniqueProjectId('webhook');
  let host: string;
  let url: string;
  let missingTopicUrl: string;
  const servers: Server[] = [];
  const logs = captureStdout();
  const pull = (waitMs = QUIET_MS): Promise<Pulled[]> =>
    pullFor(host, projectId, SUBSCRIPTION, waitMs);

  beforeAll(async () => {
    expect(useEmulators()).toBe(true);
    host = inject('pubsubHost');
    Object.assign(process.env, {
      GOOGLE_CLOUD_PROJECT: projectId,
      CALSYNC_TOPIC: TOPIC,
      CALSYNC_CHANNEL_SECRET: CURRENT_SECRET,
      CALSYNC_CHANNEL_SECRET_PREVIOUS: PREVIOUS_SECRET,
      CALSYNC_PUBLISH_TIMEOUT_MS: '3000',
    });
    await createTopicAndSubscription(host, projectId, TOPIC, SUBSCRIPTION);
    await import('../../../functions/index.js');
    const ff = await import('@google-cloud/functions-framework');
    const { createWebhook } = await import('../../../functions/webhook/function.js');
    ff.http(
      'webhookMissingTopic',
      createWebhook({ env: { ...process.env, CALSYNC_TOPIC: 'no-such-topic' } }),
    );
    const { getTestServer } = await import('@google-cloud/functions-framework/testing');
    servers.push(getTestServer('webhook'), getTestServer('webhookMissingTopic'));
    url = await listen(servers[0] as Server);
    missingTopicUrl = await listen(servers[1] as Server);
  });

  afterAll(async () => {
    await Promise.all(servers.map(close));
  });

  beforeEach(async () => {
    await pull(0); // start every test from an empty subscription
    logs.lines.length = 0;
  });

  it('a valid `exists` → 204 and exactly one message with the contract payload and attributes', async () => {
    const before = Date.now();
    const res = await send(url, notificationHeaders({ 'X-Goog-Message-Number': '42' }));
    expect(res.status).toBe(204);
    expect(res.body).toBe('');
    const messages = await pull();
    expect(messages).toHaveLength(1);
    const [m] = messages as [Pulled];
    expect(m.data).toEqual({
      v: 1,
      kind: 'notification',
      subscriptionId: SUBSCRIPTION_ID,
      channelId: CHANNEL_ID,
      resourceId: RESOURCE_ID,
      state: 'exists',
      messageNumber: 42,
      receivedAt: expect.any(String),
    });
    const receivedAt = Date.parse(m.data.receivedAt as string);
    expect(receivedAt).toBeGreaterThanOrEqual(before - 1000);
    expect(receivedAt).toBeLessThanOrEqual(Date.now());
    expect(m.attributes).toEqual({
      kind: 'notification',
      subscriptionId: SUBSCRIPTION_ID,
      state: 'exists',
    });
    const published = logs.entries().find((e) => e.message === 'notification published');
    expect(published).toMatchObject({ severity: 'INFO', messageId: m.messageId });
  });

  it('`not_exists` → 204 and one message', async () => {
    const res = await send(url, notificationHeaders({ 'X-Goog-Resource-State': 'not_exists' }));
    expect(res.status).toBe(204);
    const messages = await pull();
    expect(messages.map((m) => [m.data.state, m.attributes.state])).toEqual([
      ['not_exists', 'not_exists'],
    ]);
  });

  it("the seed write-up's real header set (unmasked, with our token) → 204 and one message", async () => {
    const res = await send(url, unmaskedSeedHeaders());
    expect(res.status).toBe(204);
    const messages = await pull();
    expect(messages).toHaveLength(1);
    expect(messages[0]?.data).toMatchObject({
      channelId: '977********d95b07be367',
      resourceId: 'ys7KY***********28',
      messageNumber: 1200009,
      state: 'exists',
    });
  });

  it('a token signed with the previous secret (rotation) is still accepted', async () => {
    const old = signChannelToken(secrets.previous, CHANNEL_ID, SUBSCRIPTION_ID);
    const res = await send(url, notificationHeaders({ 'X-Goog-Channel-Token': old }));
    expect(res.status).toBe(204);
    expect(await pull()).toHaveLength(1);
  });

  it('`sync` → 204 and nothing published', async () => {
    const res = await send(
      url,
      notificationHeaders({ 'X-Goog-Resource-State': 'sync', 'X-Goog-Message-Number': '1' }),
    );
    expect(res.status).toBe(204);
    expect(await pull()).toHaveLength(0);
  });

  it('a bare GET is a health check: 200 ok, nothing published', async () => {
    const res = await send(url, {}, { method: 'GET' });
    expect(res.status).toBe(200);
    expect(res.body).toBe('ok\n');
    expect(await pull()).toHaveLength(0);
  });

  const badCases: {
    name: string;
    headers: Record<string, string>;
    init: { method?: string; body?: string };
    status: number;
    reason: string;
  }[] = [
    ...rejectedNotifications().map(({ method, ...c }) => ({
      ...c,
      init: method ? { method } : {},
    })),
    {
      name: 'a 5000-byte body',
      headers: { ...notificationHeaders(), 'Content-Type': 'application/octet-stream' },
      init: { body: 'x'.repeat(5000) },
      status: 413,
      reason: 'body_too_large',
    },
    {
      name: 'a JSON body over the limit',
      headers: { ...notificationHeaders(), 'Content-Type': 'application/json' },
      init: { body: JSON.stringify({ pad: 'y'.repeat(5000) }) },
      status: 413,
      reason: 'body_too_large',
    },
  ];
  it.each(badCases)(
    '$name → $status, zero messages, one WARNING without the token',
    async ({ headers, init, status, reason }) => {
      const res = await send(url, headers, init);
      expect(res.status).toBe(status);
      expect(res.body.length).toBeLessThan(60);
      if (status === 405) expect(res.headers.get('allow')).toBe('POST, GET, HEAD');
      expect(await pull()).toHaveLength(0);
      const warnings = logs.entries().filter((e) => e.severity === 'WARNING');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ message: 'notification rejected', reason, status });
      const channelId = headers['X-Goog-Channel-ID'] ?? headers['X-Goog-Channel-Id'];
      if (channelId) expect(warnings[0]?.channelId).toBe(channelId);
      const presented = headers['X-Goog-Channel-Token'];
      if (presented) {
        const all = logs.lines.join('\n');
        expect(all).not.toContain(presented);
        expect(all).not.toContain(presented.split('.').at(-1));
      }
    },
  );

  it('publishing to a topic that does not exist → 503 (Google retries), nothing published', async () => {
    const res = await send(missingTopicUrl, notificationHeaders());
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await pull()).toHaveLength(0);
    expect(logs.entries().find((e) => e.severity === 'ERROR')).toMatchObject({
      reason: 'publish_failed',
      channelId: CHANNEL_ID,
    });
  });
});
