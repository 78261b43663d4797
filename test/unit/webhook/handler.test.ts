// Unit tests of the webhook core with a fake publisher: every status code, what is published, what is logged.
import { describe, expect, it } from 'vitest';
import { signChannelToken } from '../../../functions/channels/token.js';
import { createLogger } from '../../../functions/log.js';
import { NotificationMessage, messageAttributes } from '../../../functions/messages.js';
import {
  handleWebhook,
  MAX_BODY_BYTES,
  notificationAttributes,
  type Publisher,
  type WebhookRequest,
} from '../../../functions/webhook/handler.js';
import {
  CHANNEL_ID,
  RESOURCE_ID,
  SUBSCRIPTION_ID,
  asIncoming,
  notificationHeaders,
  secrets,
  rejectedNotifications,
  unmaskedSeedHeaders,
} from '../../fixtures/notifications/notifications.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');

interface Published {
  message: NotificationMessage;
  attributes: Record<string, string>;
}

function setup(publish?: Publisher['publish'], publishTimeoutMs = 1000) {
  const published: Published[] = [];
  const lines: string[] = [];
  const publisher: Publisher = {
    publish:
      publish ??
      (async (message, attributes) => {
        published.push({ message, attributes });
        return `msg-${published.length}`;
      }),
  };
  const deps = {
    config: { channelSecrets: secrets, publishTimeoutMs },
    publisher,
    logger: createLogger({ level: 'DEBUG', write: (line) => lines.push(line) }),
    clock: () => NOW,
  };
  const entries = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const call = (headers: Record<string, string>, more: Partial<WebhookRequest> = {}) =>
    handleWebhook({ method: 'POST', headers: asIncoming(headers), bodyBytes: 0, ...more }, deps);
  return { published, lines, entries, call };
}

describe('handleWebhook: accepted notifications', () => {
  it('exists → publishes one contract message with attributes, then 204', async () => {
    const t = setup();
    const res = await t.call(notificationHeaders());
    expect(res).toEqual({ status: 204, body: '' });
    expect(t.published).toHaveLength(1);
    const [{ message, attributes }] = t.published as [Published];
    expect(NotificationMessage.parse(message)).toEqual(message);
    expect(message).toEqual({
      v: 1,
      kind: 'notification',
      subscriptionId: SUBSCRIPTION_ID,
      channelId: CHANNEL_ID,
      resourceId: RESOURCE_ID,
      state: 'exists',
      messageNumber: 10,
      receivedAt: NOW.toISOString(),
    });
    expect(attributes).toEqual({
      kind: 'notification',
      subscriptionId: SUBSCRIPTION_ID,
      state: 'exists',
    });
    const info = t.entries().find((e) => e.message === 'notification published');
    expect(info).toMatchObject({ severity: 'INFO', messageId: 'msg-1', channelId: CHANNEL_ID });
  });

  it('not_exists → publishes too (the worker marks the calendar removed)', async () => {
    const t = setup();
    const res = await t.call(notificationHeaders({ 'X-Goog-Resource-State': 'not_exists' }));
    expect(res.status).toBe(204);
    expect(t.published.map((p) => p.message.state)).toEqual(['not_exists']);
    expect(t.published[0]?.attributes.state).toBe('not_exists');
  });

  it('sync → 204 and nothing published', async () => {
    const t = setup();
    const res = await t.call(
      notificationHeaders({ 'X-Goog-Resource-State': 'sync', 'X-Goog-Message-Number': '1' }),
    );
    expect(res.status).toBe(204);
    expect(t.published).toHaveLength(0);
    expect(t.entries().some((e) => e.message === 'channel confirmed (sync)')).toBe(true);
  });

  it('accepts a token signed with the previous secret (rotation) and says so in the log', async () => {
    const t = setup();
    const old = signChannelToken(secrets.previous, CHANNEL_ID, SUBSCRIPTION_ID);
    const res = await t.call(notificationHeaders({ 'X-Goog-Channel-Token': old }));
    expect(res.status).toBe(204);
    expect(t.published).toHaveLength(1);
    expect(t.lines.join('\n')).toContain('previous secret');
  });

  it('answers only after the publish is acknowledged', async () => {
    let ack: (id: string) => void = () => {};
    const t = setup(() => new Promise<string>((resolve) => (ack = resolve)));
    let settled = false;
    const pending = t.call(notificationHeaders()).then((r) => {
      settled = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 30));
    expect(settled).toBe(false);
    ack('acked');
    expect((await pending).status).toBe(204);
  });

  it("the seed write-up's real header set (unmasked, with our token) is published", async () => {
    const t = setup();
    const res = await t.call(unmaskedSeedHeaders());
    expect(res.status).toBe(204);
    expect(t.published[0]?.message).toMatchObject({
      channelId: '977********d95b07be367',
      resourceId: 'ys7KY***********28',
      state: 'exists',
      messageNumber: 1200009,
    });
  });
});

describe('handleWebhook: Pub/Sub trouble → 503 so Google retries', () => {
  it('a failing publish → 503 with Retry-After, logged at ERROR', async () => {
    const t = setup(async () => {
      throw Object.assign(new Error('14 UNAVAILABLE: no connection'), { code: 14 });
    });
    const res = await t.call(notificationHeaders());
    expect(res.status).toBe(503);
    expect(res.headers).toEqual({ 'Retry-After': '1' });
    const err = t.entries().find((e) => e.severity === 'ERROR');
    expect(err).toMatchObject({ reason: 'publish_failed', channelId: CHANNEL_ID });
  });

  it('a publish slower than publishTimeoutMs → 503', async () => {
    const t = setup(() => new Promise<string>(() => {}), 50);
    const started = Date.now();
    const res = await t.call(notificationHeaders());
    expect(res.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(t.entries().find((e) => e.severity === 'ERROR')).toMatchObject({
      reason: 'publish_timeout',
    });
  });
});

describe('notificationAttributes', () => {
  it('equals the contract messageAttributes() for every state', () => {
    for (const state of ['exists', 'not_exists'] as const) {
      const message: NotificationMessage = {
        v: 1,
        kind: 'notification',
        subscriptionId: SUBSCRIPTION_ID,
        channelId: CHANNEL_ID,
        resourceId: RESOURCE_ID,
        state,
        messageNumber: 1,
        receivedAt: NOW.toISOString(),
      };
      expect(notificationAttributes(message)).toEqual(messageAttributes(message));
    }
  });
});

describe('handleWebhook: a cold client', () => {
  it('starts the publish timeout once the client is ready (a slow library load is not an outage)', async () => {
    const t = setup(undefined, 50);
    const slowLoad: Publisher = {
      ready: () => new Promise((r) => setTimeout(r, 120)),
      publish: async () => 'after-load',
    };
    const res = await handleWebhook(
      { method: 'POST', headers: asIncoming(notificationHeaders()), bodyBytes: 0 },
      {
        config: { channelSecrets: secrets, publishTimeoutMs: 50 },
        publisher: slowLoad,
        logger: createLogger({ write: (l) => t.lines.push(l) }),
        clock: () => NOW,
      },
    );
    expect(res.status).toBe(204);
  });

  it('a client that fails to load → 503', async () => {
    const res = await handleWebhook(
      { method: 'POST', headers: asIncoming(notificationHeaders()), bodyBytes: 0 },
      {
        config: { channelSecrets: secrets, publishTimeoutMs: 50 },
        publisher: {
          ready: () => Promise.reject(new Error('cannot load')),
          publish: async () => 'never',
        },
        logger: createLogger({ write: () => {} }),
        clock: () => NOW,
      },
    );
    expect(res.status).toBe(503);
  });
});

describe('handleWebhook: rejections publish nothing, log WARNING with reason and channel id', () => {
  const table: {
    name: string;
    headers: Record<string, string>;
    more: Partial<WebhookRequest>;
    status: number;
    reason: string;
  }[] = [
    ...rejectedNotifications().map(({ method, ...c }) => ({
      ...c,
      more: method ? { method } : {},
    })),
    {
      name: 'body over the limit',
      headers: notificationHeaders(),
      more: { bodyBytes: MAX_BODY_BYTES + 1 },
      status: 413,
      reason: 'body_too_large',
    },
  ];
  it.each(table)('$name → $status', async ({ headers, more, status, reason }) => {
    const t = setup();
    const res = await t.call(headers, more);
    expect(res.status).toBe(status);
    expect(t.published).toHaveLength(0);
    // A short, fixed body: never a header value.
    expect(res.body.length).toBeLessThan(60);
    for (const value of Object.values(headers)) {
      if (value.length > 3) expect(res.body).not.toContain(value);
    }
    if (status === 405) expect(res.headers?.Allow).toBe('POST, GET, HEAD');
    const warnings = t.entries().filter((e) => e.severity === 'WARNING');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ message: 'notification rejected', reason, status });
    const channelId = headers['X-Goog-Channel-ID'] ?? headers['X-Goog-Channel-Id'];
    if (channelId) expect(warnings[0]?.channelId).toBe(channelId);
    // The token never reaches a log line, in whole or as its signature.
    const presented = headers['X-Goog-Channel-Token'];
    if (presented) {
      expect(t.lines.join('\n')).not.toContain(presented);
      const sig = presented.split('.')[2];
      if (sig && sig.length > 8) expect(t.lines.join('\n')).not.toContain(sig);
    }
  });
});

describe('handleWebhook: health check', () => {
  it('a bare GET (no X-Goog-* header) answers 200 ok and publishes nothing', async () => {
    const t = setup();
    const res = await t.call({ 'User-Agent': 'GoogleHC/1.0' }, { method: 'GET' });
    expect(res).toEqual({ status: 200, body: 'ok\n' });
    expect(t.published).toHaveLength(0);
    const head = await t.call({}, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('a bare POST is not a health check: 400 missing header', async () => {
    const t = setup();
    const res = await t.call({});
    expect(res).toEqual({ status: 400, body: 'missing X-Goog-Channel-ID\n' });
  });
});
