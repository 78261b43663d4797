// Unit tests of the webhook core with a fake publisher: every status code, what is published, what is logged.
import { afterEach, describe, expect, it, vi } from 'vitest';
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
import { createSampler } from '../../../functions/webhook/sampler.js';
import {
  CHANNEL_EXPIRES_AT,
  CHANNEL_ID,
  OTHER_SECRET,
  SUBSCRIPTION_ID,
  TOKEN_POLICY,
  asIncoming,
  channelToken,
  notificationHeaders,
  publishedMessage,
  secrets,
  expectRefusalLogged,
  rejectedNotifications,
  type RejectedNotification,
  unmaskedSeedHeaders,
} from '../../fixtures/notifications/notifications.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');

interface Published {
  message: NotificationMessage;
  attributes: Record<string, string>;
}

function setup(
  publish?: Publisher['publish'],
  publishTimeoutMs = 1000,
  more: { now?: Date; v1?: 'accept' | 'reject'; sampler?: ReturnType<typeof createSampler> } = {},
) {
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
    config: {
      channelSecrets: secrets,
      publishTimeoutMs,
      channelTokens: { ...TOKEN_POLICY, v1: more.v1 ?? TOKEN_POLICY.v1 },
    },
    publisher,
    logger: createLogger({ level: 'DEBUG', write: (line) => lines.push(line) }),
    clock: () => more.now ?? NOW,
    ...(more.sampler ? { sampler: more.sampler } : {}),
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
    expect(message).toEqual(publishedMessage({ messageNumber: 10, receivedAt: NOW.toISOString() }));
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
    const old = channelToken(CHANNEL_ID, secrets.previous);
    const res = await t.call(notificationHeaders({ 'X-Goog-Channel-Token': old }));
    expect(res.status).toBe(204);
    expect(t.published).toHaveLength(1);
    expect(t.lines.join('\n')).toContain('previous secret');
  });

  it('answers only after the publish is acknowledged', async () => {
    let ack: (id: string) => void = () => {};
    let publishing: () => void = () => {};
    const called = new Promise<void>((resolve) => (publishing = resolve));
    const t = setup(() => {
      publishing();
      return new Promise<string>((resolve) => (ack = resolve));
    });
    let settled = false;
    const pending = t.call(notificationHeaders()).then((r) => {
      settled = true;
      return r;
    });
    await called; // the publish has started: everything before it ran
    await new Promise((r) => setImmediate(r)); // let any premature answer settle
    expect(settled).toBe(false);
    ack('acked');
    expect((await pending).status).toBe(204);
  });

  it('a v1 token is still accepted (transition) and says so in the log', async () => {
    const t = setup();
    const v1 = signChannelToken(secrets.current, CHANNEL_ID, SUBSCRIPTION_ID);
    const res = await t.call(notificationHeaders({ 'X-Goog-Channel-Token': v1 }));
    expect(res.status).toBe(204);
    expect(t.entries().some((e) => e.message === 'channel token v1 accepted')).toBe(true);
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

  it('a publish slower than publishTimeoutMs → 503 at the timeout, not before', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const t = setup(() => new Promise<string>(() => {}), 50);
    let settled = false;
    const pending = t.call(notificationHeaders()).then((r) => {
      settled = true;
      return r;
    });
    await vi.advanceTimersByTimeAsync(49);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const res = await pending;
    expect(res.status).toBe(503);
    expect(t.entries().find((e) => e.severity === 'ERROR')).toMatchObject({
      reason: 'publish_timeout',
    });
  });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('notificationAttributes', () => {
  it('equals the contract messageAttributes() for every state', () => {
    for (const state of ['exists', 'not_exists'] as const) {
      const message = publishedMessage({ state, messageNumber: 1, receivedAt: NOW.toISOString() });
      expect(notificationAttributes(message)).toEqual(messageAttributes(message));
    }
  });
});

describe('handleWebhook: a cold client', () => {
  it('starts the publish timeout once the client is ready (a slow library load is not an outage)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    let published = false;
    const slowLoad: Publisher = {
      ready: () => new Promise((r) => setTimeout(r, 120)),
      publish: () =>
        new Promise((r) =>
          setTimeout(() => {
            published = true;
            r('after-load');
          }, 40),
        ),
    };
    const pending = handleWebhook(
      { method: 'POST', headers: asIncoming(notificationHeaders()), bodyBytes: 0 },
      {
        config: { channelSecrets: secrets, publishTimeoutMs: 50, channelTokens: TOKEN_POLICY },
        publisher: slowLoad,
        logger: createLogger({ write: () => {} }),
        clock: () => NOW,
      },
    );
    // 160 ms after the request, but only 40 ms after the client was ready: inside the 50 ms timeout.
    await vi.advanceTimersByTimeAsync(160);
    const res = await pending;
    expect(published).toBe(true);
    expect(res.status).toBe(204);
  });

  it('a client that fails to load → 503', async () => {
    const res = await handleWebhook(
      { method: 'POST', headers: asIncoming(notificationHeaders()), bodyBytes: 0 },
      {
        config: { channelSecrets: secrets, publishTimeoutMs: 50, channelTokens: TOKEN_POLICY },
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
  const table: (RejectedNotification & { bodyBytes?: number })[] = [
    ...rejectedNotifications(),
    {
      name: 'body over the limit',
      headers: notificationHeaders(),
      bodyBytes: MAX_BODY_BYTES + 1,
      status: 413,
      reason: 'body_too_large',
    },
  ];
  it.each(table)('$name → $status', async (c) => {
    const t = setup();
    const { method, bodyBytes } = c;
    const res = await t.call(c.headers, {
      ...(method && { method }),
      ...(bodyBytes && { bodyBytes }),
    });
    expect(res.status).toBe(c.status);
    expect(t.published).toHaveLength(0);
    // A short, fixed body: never a header value.
    expect(res.body.length).toBeLessThan(60);
    for (const value of Object.values(c.headers)) {
      if (value.length > 3) expect(res.body).not.toContain(value);
    }
    if (c.status === 405) expect(res.headers?.Allow).toBe('POST, GET, HEAD');
    expectRefusalLogged(t.entries(), t.lines, c);
  });
});

describe('handleWebhook: expired and legacy tokens', () => {
  const afterExpiry = (ms: number) => new Date(CHANNEL_EXPIRES_AT + TOKEN_POLICY.graceMs + ms);

  it('a replayed notification of a channel past its expiry + grace → 403 token_expired, nothing published', async () => {
    const t = setup(undefined, 1000, { now: afterExpiry(1000) });
    const res = await t.call(notificationHeaders());
    expect(res.status).toBe(403);
    expect(t.published).toHaveLength(0);
    expect(t.entries()[0]).toMatchObject({
      message: 'notification rejected',
      reason: 'token_expired',
    });
    // Within the grace period (Google's late retries, stragglers) it still goes through.
    const late = setup(undefined, 1000, { now: afterExpiry(-1000) });
    expect((await late.call(notificationHeaders())).status).toBe(204);
  });

  it('a v1 token once v1 is switched off → 403 token_v1_rejected', async () => {
    const t = setup(undefined, 1000, { v1: 'reject' });
    const v1 = signChannelToken(secrets.current, CHANNEL_ID, SUBSCRIPTION_ID);
    const res = await t.call(notificationHeaders({ 'X-Goog-Channel-Token': v1 }));
    expect(res.status).toBe(403);
    expect(t.published).toHaveLength(0);
    expect(t.entries()[0]).toMatchObject({ reason: 'token_v1_rejected' });
    expect((await t.call(notificationHeaders())).status).toBe(204); // v2 unaffected
  });
});

describe('handleWebhook: rejection logs are sampled', () => {
  it('a flood of forged notifications writes a bounded number of lines and counts the rest', async () => {
    let now = NOW.getTime();
    const sampler = createSampler(5, 60_000, () => now);
    const t = setup(undefined, 1000, { sampler });
    const forged = notificationHeaders({
      'X-Goog-Channel-Token': channelToken(CHANNEL_ID, Buffer.from(OTHER_SECRET)),
    });
    for (let i = 0; i < 1000; i++) expect((await t.call(forged)).status).toBe(403);
    // Another reason has its own allowance.
    await t.call(notificationHeaders({ 'X-Goog-Channel-Token': undefined }));
    const rejected = () => t.entries().filter((e) => e.message === 'notification rejected');
    expect(rejected().filter((e) => e.reason === 'token_bad_signature')).toHaveLength(5);
    expect(rejected().filter((e) => e.reason === 'token_missing')).toHaveLength(1);
    expect(rejected()[4]).toMatchObject({ sampling: expect.any(String) });
    // The next minute's first line carries what was not written.
    now += 60_000;
    await t.call(forged);
    expect(rejected().at(-1)).toMatchObject({ reason: 'token_bad_signature', suppressed: 995 });
    expect(t.published).toHaveLength(0);
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
