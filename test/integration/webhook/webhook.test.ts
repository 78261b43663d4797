// Integration: the registered `webhook` target over real HTTP (functions-framework) publishing to the Pub/Sub emulator.
import type { Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { emulatorsMissing, uniqueProjectId, useEmulators } from '../../harness/env.js';
import {
  CHANNEL_ID,
  expectRefusalLogged,
  notificationHeaders,
  publishedMessage,
  PREVIOUS_SECRET,
  channelToken,
  rejectedNotifications,
  secrets,
  SUBSCRIPTION_ID,
  unmaskedSeedHeaders,
  type RejectedNotification,
} from '../../fixtures/notifications/notifications.js';
import {
  captureStdout,
  close,
  listen,
  pullFor,
  send,
  startWebhook,
  type Pulled,
} from './helpers.js';

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
    const webhook = await startWebhook({
      pubsubHost: host,
      projectId,
      subscription: SUBSCRIPTION,
      env: { CALSYNC_CHANNEL_SECRET_PREVIOUS: PREVIOUS_SECRET, CALSYNC_PUBLISH_TIMEOUT_MS: '3000' },
    });
    url = webhook.url;
    const ff = await import('@google-cloud/functions-framework');
    const { createWebhook } = await import('../../../functions/webhook/function.js');
    ff.http(
      'webhookMissingTopic',
      createWebhook({ env: { ...process.env, CALSYNC_TOPIC: 'no-such-topic' } }),
    );
    const { getTestServer } = await import('@google-cloud/functions-framework/testing');
    servers.push(webhook.server, getTestServer('webhookMissingTopic'));
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
    expect(m.data).toEqual(
      publishedMessage({ messageNumber: 42, receivedAt: expect.any(String) as string }),
    );
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
    const old = channelToken(CHANNEL_ID, secrets.previous);
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

  const badCases: (RejectedNotification & { body?: string })[] = [
    ...rejectedNotifications(),
    {
      name: 'a 5000-byte body',
      headers: { ...notificationHeaders(), 'Content-Type': 'application/octet-stream' },
      body: 'x'.repeat(5000),
      status: 413,
      reason: 'body_too_large',
    },
    {
      name: 'a JSON body over the limit',
      headers: { ...notificationHeaders(), 'Content-Type': 'application/json' },
      body: JSON.stringify({ pad: 'y'.repeat(5000) }),
      status: 413,
      reason: 'body_too_large',
    },
  ];
  it.each(badCases)('$name → $status, zero messages, one WARNING without the token', async (c) => {
    const res = await send(url, c.headers, { method: c.method, body: c.body });
    expect(res.status).toBe(c.status);
    expect(res.body.length).toBeLessThan(60);
    if (c.status === 405) expect(res.headers.get('allow')).toBe('POST, GET, HEAD');
    expect(await pull()).toHaveLength(0);
    expectRefusalLogged(logs.entries(), logs.lines, c);
  });

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
