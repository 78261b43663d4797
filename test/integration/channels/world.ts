// Shared integration world for channel / renewal / CLI tests: Firestore + Pub/Sub emulators, the Calendar API simulator, a webhook sink, real deps.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, inject } from 'vitest';
import { connect } from '../../../functions/cli/commands/connect.js';
import type { CliDeps } from '../../../functions/cli/deps.js';
import { parseConfig, type RenewalConfig } from '../../../functions/config.js';
import { subscriptionIdFor } from '../../../functions/ids.js';
import { createLogger } from '../../../functions/log.js';
import { renewChannelsCore } from '../../../functions/renewal/core.js';
import { pubsubEnqueuer, type ClosableEnqueuer } from '../../../functions/renewal/enqueue.js';
import { paths, type SubscriptionDoc } from '../../../functions/store/schema.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../simulator/index.js';
import { googleCalendar, SimulatorClient } from '../../simulator/client.js';
import { uniqueProjectId, useEmulators } from '../../harness/env.js';
import { slot } from '../../harness/fixtures.js';
import { spawnManaged, waitFor } from '../../harness/processes.js';
import { clockedCliDeps } from '../../harness/cli-deps.js';

export const CHANNEL_SECRET = 'channel-secret-for-tests-0123456789abcdef';
export const KEY_A = Buffer.alloc(32, 7).toString('base64');
export const KEY_B = Buffer.alloc(32, 9).toString('base64');

export interface World {
  projectId: string;
  topic: string;
  env: Record<string, string>;
  config: Readonly<RenewalConfig>;
  db: Firestore;
  sim: Simulator;
  simc: SimulatorClient;
  webhookUrl: string;
  /** ms the simulator clock is ahead of ours; deps.now() follows it. */
  offset: { ms: number };
  enqueuer: ClosableEnqueuer;
  progress: string[];
  deps(overrides?: Partial<CliDeps>): CliDeps;
  /** Moves the simulated clock (and deps.now) forward. */
  advance(ms: number): Promise<void>;
  /** Pulls (and acks) the resync messages published so far. */
  pull(waitMs?: number): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

async function pubsub(method: string, path: string, body?: unknown) {
  const host = inject('pubsubHost');
  const res = await fetch(`http://${host}/v1/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`pubsub emulator ${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as Record<string, unknown>;
}

async function freePort(): Promise<number> {
  const probe = http.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

/** The simulator in its own process (test/simulator/main.ts): its CPU no longer competes with the test's. */
async function externalSimulator(): Promise<Simulator> {
  const port = await freePort();
  const proc = spawnManaged('node_modules/.bin/tsx', [
    'test/simulator/main.ts',
    '--port',
    String(port),
  ]);
  const url = `http://127.0.0.1:${port}`;
  const client = new SimulatorClient(url);
  await waitFor('calendar simulator', async () => (await fetch(`${url}/_sim/health`)).ok, proc);
  return {
    url,
    tokenUrl: `${url}/token`,
    port,
    idle: () => client.idle(),
    close: () => proc.stop(),
  };
}

export async function createWorld(
  prefix: string,
  extraEnv: Record<string, string> = {},
  simOptions: SimulatorOptions & { external?: boolean } = {},
): Promise<World> {
  if (!useEmulators()) throw new Error('emulators missing');
  const projectId = uniqueProjectId(prefix);
  const topic = `resync-${randomBytes(3).toString('hex')}`;
  const subscription = `${topic}-pull`;
  await pubsub('PUT', `projects/${projectId}/topics/${topic}`, {});
  await pubsub('PUT', `projects/${projectId}/subscriptions/${subscription}`, {
    topic: `projects/${projectId}/topics/${topic}`,
    ackDeadlineSeconds: 30,
  });
  const sink = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  sink.keepAliveTimeout = 500;
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const webhookUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/webhook`;
  const sim = simOptions.external
    ? await externalSimulator()
    : await startSimulator({ notificationMaxAttempts: 1, ...simOptions });
  const env: Record<string, string> = {
    GOOGLE_CLOUD_PROJECT: projectId,
    CALSYNC_TOPIC: topic,
    CALSYNC_CHANNEL_SECRET: CHANNEL_SECRET,
    CALSYNC_TOKEN_KEY: KEY_A,
    GOOGLE_OAUTH_CLIENT_ID: 'calsync-test-client',
    GOOGLE_OAUTH_CLIENT_SECRET: 'calsync-test-secret',
    CALSYNC_WEBHOOK_URL: webhookUrl,
    CALSYNC_CALENDAR_API_URL: `${sim.url}/`,
    CALSYNC_OAUTH_TOKEN_URL: sim.tokenUrl,
    CALSYNC_RETRY_BUDGET_SECONDS: '2',
    CALSYNC_GOOGLE_TIMEOUT_MS: '10000',
    FIRESTORE_EMULATOR_HOST: inject('firestoreHost'),
    PUBSUB_EMULATOR_HOST: inject('pubsubHost'),
    ...extraEnv,
  };
  const config = parseConfig(env, 'cli');
  const db = new Firestore({ projectId });
  await db.doc('warmup/connection').get(); // the first gRPC call to the emulator is slow; pay it here
  const enqueuer = pubsubEnqueuer(config);
  const offset = { ms: 0 };
  const progress: string[] = [];
  const logger = createLogger({ level: 'ERROR', write: () => undefined });
  const simc = new SimulatorClient(sim.url);
  return {
    projectId,
    topic,
    env,
    config,
    db,
    sim,
    simc,
    webhookUrl,
    offset,
    enqueuer,
    progress,
    deps: clockedCliDeps({ db, config, logger, enqueuer, offset }, 'test', (line) =>
      progress.push(line),
    ),
    async advance(ms) {
      const simNow = await simc.advanceClock(ms);
      offset.ms = simNow - Date.now();
    },
    async pull(waitMs = 300) {
      const out: Record<string, unknown>[] = [];
      const path = `projects/${projectId}/subscriptions/${subscription}`;
      const deadline = Date.now() + waitMs;
      do {
        const res = (await pubsub('POST', `${path}:pull`, {
          maxMessages: 1000,
          returnImmediately: true,
        })) as { receivedMessages?: { ackId: string; message: { data?: string } }[] };
        const got = res.receivedMessages ?? [];
        for (const r of got) {
          out.push(JSON.parse(Buffer.from(r.message.data ?? '', 'base64').toString('utf8')));
        }
        if (got.length > 0) {
          await pubsub('POST', `${path}:acknowledge`, { ackIds: got.map((r) => r.ackId) });
          continue;
        }
        await new Promise((r) => setTimeout(r, 50));
      } while (Date.now() < deadline);
      return out;
    },
    async close() {
      await enqueuer.close();
      await db.terminate();
      await sim.close();
      sink.closeAllConnections();
      await new Promise<void>((r) => sink.close(() => r()));
    },
  };
}

/**
 * One World for the test file (call it inside the `describe`): made before its tests, closed after
 * them. Reading it outside a test is a mistake the error names.
 */
export function worldFixture(...args: Parameters<typeof createWorld>): World {
  const world = slot<World>('the world');
  beforeAll(async () => world.set(await createWorld(...args)));
  afterAll(async () => {
    const w = world.peek();
    world.set(undefined);
    await w?.close();
  });
  // World is a plain object of values and closures: forwarding reads is all a test needs.
  return new Proxy({} as World, { get: (_target, key) => Reflect.get(world.get(), key) });
}

/** A subscription document as stored now (undefined once deleted). */
export async function subscriptionOf(w: World, uid: string, calendarId: string) {
  const snap = await w.db.doc(paths.subscription(subscriptionIdFor(uid, calendarId))).get();
  return snap.data() as SubscriptionDoc | undefined;
}

/** Inserts a timed event through the real Calendar client, as the holder of `refreshToken` (one hour unless `end` is given). */
export function insertEvent(
  w: World,
  refreshToken: string,
  event: { summary: string; start: string; end?: string; calendarId?: string },
) {
  const { summary, start, calendarId = 'primary' } = event;
  const end =
    event.end ?? new Date(Date.parse(start) + 3_600_000).toISOString().replace('.000Z', 'Z');
  return googleCalendar(w.sim.url, refreshToken).calendar.events.insert({
    calendarId,
    requestBody: { summary, start: { dateTime: start }, end: { dateTime: end } },
  });
}

/** A user of the simulated Google with one refresh token (made up from the address unless given): the token. */
export async function googleUser(
  w: World,
  email: string,
  refreshToken = `1//refresh-${email}-0123456789`,
): Promise<string> {
  await w.simc.createUser(email, refreshToken);
  return refreshToken;
}

/** `calsync connect` as `uid` with a refresh token: one calendar (the primary by default), or `--all`. */
export function connectAs(
  w: World,
  uid: string,
  refreshToken: string,
  calendarId = 'primary',
  { all = false } = {},
) {
  return connect(w.deps(), { uid, calendarId, refreshToken, all });
}

/**
 * A simulator user `${name}@example.com` whose primary calendar `calsync connect` connected (first
 * sync, channel); `read()` reads its subscription document as stored now.
 */
export async function connectedUser(w: World, name: string) {
  const email = `${name}@example.com`;
  await connectAs(w, name, await googleUser(w, email));
  const id = subscriptionIdFor(name, email);
  const ref = w.db.doc(paths.subscription(id));
  const read = async () => (await ref.get()).data() as SubscriptionDoc;
  return { id, email, ref, read };
}

/**
 * One renewal run on a drained queue and what it published: `messages` the syncs it enqueued
 * (`resync`), `rolls` the daily `roll` messages (decision 011).
 */
export async function renewAndPull(w: World) {
  await w.pull(100);
  const summary = await renewChannelsCore(w.deps());
  const all = await w.pull();
  return {
    summary,
    messages: all.filter((m) => m.kind !== 'roll'),
    rolls: all.filter((m) => m.kind === 'roll'),
  };
}
