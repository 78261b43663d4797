// Integration helpers for the webhook: the target served over HTTP, Pub/Sub emulator REST calls, pulling with a wait, HTTP calls, log capture.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { vi } from 'vitest';
import { CURRENT_SECRET } from '../../fixtures/notifications/notifications.js';

export interface Pulled {
  messageId: string;
  data: Record<string, unknown>;
  attributes: Record<string, string>;
}

async function emulator(host: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`http://${host}/v1/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`emulator ${method} ${path}: ${res.status} ${text}`);
  return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
}

export async function createTopicAndSubscription(
  host: string,
  projectId: string,
  topic: string,
  subscription: string,
): Promise<void> {
  await emulator(host, 'PUT', `projects/${projectId}/topics/${topic}`, {});
  await emulator(host, 'PUT', `projects/${projectId}/subscriptions/${subscription}`, {
    topic: `projects/${projectId}/topics/${topic}`,
    ackDeadlineSeconds: 10,
  });
}

/** Pulls (and acks) everything that arrives on a subscription within `waitMs`. */
export async function pullFor(
  host: string,
  projectId: string,
  subscription: string,
  waitMs: number,
): Promise<Pulled[]> {
  const out: Pulled[] = [];
  const deadline = Date.now() + waitMs;
  const path = `projects/${projectId}/subscriptions/${subscription}`;
  do {
    const res = (await emulator(host, 'POST', `${path}:pull`, {
      maxMessages: 100,
      returnImmediately: true,
    })) as {
      receivedMessages?: {
        ackId: string;
        message: { messageId: string; data?: string; attributes?: Record<string, string> };
      }[];
    };
    const received = res.receivedMessages ?? [];
    for (const r of received) {
      out.push({
        messageId: r.message.messageId,
        data: JSON.parse(Buffer.from(r.message.data ?? '', 'base64').toString('utf8')),
        attributes: r.message.attributes ?? {},
      });
    }
    if (received.length > 0) {
      await emulator(host, 'POST', `${path}:acknowledge`, {
        ackIds: received.map((r) => r.ackId),
      });
    }
    await new Promise((r) => setTimeout(r, 100));
  } while (Date.now() < deadline);
  return out;
}

export const TOPIC = 'calendar-notifications';

/**
 * The registered `webhook` target (functions/index.ts, under functions-framework) on a free port,
 * publishing to `TOPIC` in `projectId` on the Pub/Sub emulator at `pubsubHost`, where `subscription`
 * collects what it publishes. `env` adds to the process environment the target reads its config from.
 */
export async function startWebhook(opts: {
  pubsubHost: string;
  projectId: string;
  subscription: string;
  env?: Record<string, string>;
}): Promise<{ url: string; server: Server }> {
  Object.assign(process.env, {
    PUBSUB_EMULATOR_HOST: opts.pubsubHost,
    GOOGLE_CLOUD_PROJECT: opts.projectId,
    CALSYNC_TOPIC: TOPIC,
    CALSYNC_CHANNEL_SECRET: CURRENT_SECRET,
    ...opts.env,
  });
  await createTopicAndSubscription(opts.pubsubHost, opts.projectId, TOPIC, opts.subscription);
  await import('../../../functions/index.js');
  const { getTestServer } = await import('@google-cloud/functions-framework/testing');
  const server = getTestServer('webhook');
  return { url: await listen(server), server };
}

export async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

export async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Headers fetch sets itself (and refuses from callers). */
const TRANSPORT = new Set(['host', 'connection', 'content-length', 'accept-encoding']);

export async function send(
  url: string,
  headers: Record<string, string>,
  init: { method?: string; body?: string } = {},
): Promise<{ status: number; body: string; headers: Headers }> {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (!TRANSPORT.has(k.toLowerCase())) clean[k] = v;
  const res = await fetch(url, { method: init.method ?? 'POST', headers: clean, body: init.body });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

/** Captures the process logger's JSON lines (it writes to stdout). */
export function captureStdout(): { lines: string[]; entries(): Record<string, unknown>[] } {
  const lines: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  });
  return {
    lines,
    entries: () =>
      lines.flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
  };
}
