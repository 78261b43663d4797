// Convergence property: seeded histories of calendar edits interleaved with faults, run in-process against the simulator and the Firestore emulator.
//
// Replaying a failing history: fast-check prints `seed` and `path` (counterexample). Then
//   npm run test:soak -- --seed <seed> --path <path>
// replays exactly that history (same operations, same faults, same order). The default suite
// (test/integration/property/convergence.test.ts) also honours CALSYNC_PROPERTY_SEED /
// CALSYNC_PROPERTY_PATH / CALSYNC_PROPERTY_RUNS. Set CALSYNC_PROPERTY_TRACE=1 to print every step.
//
// What runs for real: the Calendar API simulator over HTTP (notifications POSTed to a real HTTP
// listener), the webhook core (`handleWebhook`: channel token verification), the sync engine
// (`handleSyncMessage` / `runSync`), the renewal core (`renewChannelsCore`), `calsync connect`'s
// core and the Firestore emulator. Only Pub/Sub is replaced, by an in-test queue that IS the
// fault injector: it drops, duplicates, delays, reorders and redelivers messages as told.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import type { calendar_v3 } from '@googleapis/calendar';
import fc from 'fast-check';
import { calendarApiFactory } from '../../functions/calendar/client.js';
import { syncDepsOf } from '../../functions/channels/deps.js';
import type { CliDeps } from '../../functions/cli/deps.js';
import { connect } from '../../functions/cli/commands/connect.js';
import { parseConfig, type RenewalConfig } from '../../functions/config.js';
import { createLogger, type Logger } from '../../functions/log.js';
import type { NotificationMessage, ResyncMessage } from '../../functions/messages.js';
import { renewChannelsCore } from '../../functions/renewal/core.js';
import { resyncMessage } from '../../functions/renewal/enqueue.js';
import { paths, type SubscriptionDoc } from '../../functions/store/schema.js';
import { acquireLease } from '../../functions/store/lease.js';
import type { SyncDeps } from '../../functions/sync/deps.js';
import { handleSyncMessage, mustRedeliver } from '../../functions/sync/handle.js';
import { handleWebhook, type Publisher } from '../../functions/webhook/handler.js';
import { googleCalendar, SimulatorClient } from '../simulator/client.js';
import { startSimulator, type Simulator } from '../simulator/index.js';
import { mirrorDocuments, truthOf } from '../harness/google-truth.js';

// ---------------------------------------------------------------------------------------------
// Histories

export type CalendarOp =
  | { op: 'insert'; day: number; hour: number }
  | { op: 'update'; pick: number }
  | { op: 'move'; pick: number; hours: number }
  | { op: 'delete'; pick: number }
  | { op: 'restore'; pick: number }
  | { op: 'createSeries'; day: number; count: number }
  | { op: 'editInstance'; pick: number; instance: number }
  | { op: 'cancelInstance'; pick: number; instance: number }
  | { op: 'thisAndFollowing'; pick: number; instance: number }
  | { op: 'editSeries'; pick: number }
  | { op: 'deleteSeries'; pick: number };

export type Fault =
  /** Deliver the first n queued messages one after the other. */
  | { fault: 'deliver'; n: number }
  /** Deliver the first n queued messages at once (concurrent workers). */
  | { fault: 'deliverConcurrently'; n: number }
  | { fault: 'drop'; pick: number }
  | { fault: 'duplicate'; pick: number }
  /** Move the head of the queue to its end (a late message). */
  | { fault: 'delay' }
  | { fault: 'reorder'; key: number }
  /** All sync tokens of the calendar answer 410 from now on. */
  | { fault: 'expireTokens' }
  /** The next sync's page `page` is followed by a token expiry (410 in the middle of paging). */
  | { fault: 'expireMidPaging'; page: number }
  /** The simulated clock jumps past the access token's life after page `page` (401 → refresh). */
  | { fault: 'accessTokenExpiry'; page: number }
  /** The next `count` events.list calls fail with this status. */
  | { fault: 'apiErrors'; status: 403 | 429 | 500 | 503; count: number }
  /** The next sync throws after writing page `page` (a worker crash between pages). */
  | { fault: 'crashAfterPage'; page: number }
  /** A worker takes the lease and dies without releasing it. */
  | { fault: 'deadLease' }
  /** Time passes: leases expire. */
  | { fault: 'leaseExpiry' }
  /** The clock moves to near the channel's expiry (or past it) and renewChannels runs. */
  | { fault: 'renewal'; pastExpiry: boolean; stragglers: boolean }
  /** Notifications are dropped by "Google" for a while. */
  | { fault: 'googleDrops'; rate: number };

export type Step = CalendarOp | Fault;

const calendarOp: fc.Arbitrary<CalendarOp> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('insert' as const),
      day: fc.nat(60),
      hour: fc.integer({ min: 6, max: 20 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('update' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('move' as const),
      pick: fc.nat(),
      hours: fc.integer({ min: -48, max: 48 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('restore' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('createSeries' as const),
      day: fc.nat(30),
      count: fc.integer({ min: 3, max: 8 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('editInstance' as const),
      pick: fc.nat(),
      instance: fc.nat(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('cancelInstance' as const),
      pick: fc.nat(),
      instance: fc.nat(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('thisAndFollowing' as const),
      pick: fc.nat(),
      instance: fc.nat(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('editSeries' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('deleteSeries' as const), pick: fc.nat() }),
  },
);

const fault: fc.Arbitrary<Fault> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      fault: fc.constant('deliver' as const),
      n: fc.integer({ min: 1, max: 4 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      fault: fc.constant('deliverConcurrently' as const),
      n: fc.integer({ min: 2, max: 4 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ fault: fc.constant('drop' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ fault: fc.constant('duplicate' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ fault: fc.constant('delay' as const) }) },
  { weight: 1, arbitrary: fc.record({ fault: fc.constant('reorder' as const), key: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ fault: fc.constant('expireTokens' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      fault: fc.constant('expireMidPaging' as const),
      page: fc.integer({ min: 0, max: 2 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      fault: fc.constant('accessTokenExpiry' as const),
      page: fc.integer({ min: 0, max: 1 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      fault: fc.constant('apiErrors' as const),
      status: fc.constantFrom(403 as const, 429 as const, 500 as const, 503 as const),
      count: fc.integer({ min: 1, max: 30 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      fault: fc.constant('crashAfterPage' as const),
      page: fc.integer({ min: 0, max: 2 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ fault: fc.constant('deadLease' as const) }) },
  { weight: 1, arbitrary: fc.record({ fault: fc.constant('leaseExpiry' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      fault: fc.constant('renewal' as const),
      pastExpiry: fc.boolean(),
      stragglers: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      fault: fc.constant('googleDrops' as const),
      rate: fc.constantFrom(0, 0.3, 1),
    }),
  },
);

export interface History {
  /** Events on the calendar before it is connected (a few pages at maxResults 3). */
  seedSingles: number;
  seedSeries: number;
  steps: Step[];
}

export function historyArbitrary(maxSteps = 40): fc.Arbitrary<History> {
  return fc.record({
    seedSingles: fc.integer({ min: 0, max: 8 }),
    seedSeries: fc.integer({ min: 0, max: 2 }),
    steps: fc.array(
      fc.oneof({ weight: 3, arbitrary: calendarOp }, { weight: 2, arbitrary: fault }),
      {
        minLength: 10,
        maxLength: maxSteps,
        size: 'medium',
      },
    ),
  });
}

export const isFault = (s: Step): s is Fault => 'fault' in s;

// ---------------------------------------------------------------------------------------------
// The world shared by many histories: one Firestore client and one webhook listener.

export interface PropertyWorld {
  db: Firestore;
  projectId: string;
  webhookUrl: string;
  /** The running history's webhook handler. */
  route: { handle?: (req: http.IncomingMessage, bodyBytes: number) => Promise<number> };
  close(): Promise<void>;
}

const CHANNEL_SECRET = randomBytes(32).toString('base64url');
const TOKEN_KEY = randomBytes(32).toString('base64');

export async function createPropertyWorld(
  db: Firestore,
  projectId: string,
): Promise<PropertyWorld> {
  const route: PropertyWorld['route'] = {};
  const server = http.createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      const handle = route.handle;
      if (!handle) {
        res.writeHead(410).end();
        return;
      }
      handle(req, bytes).then(
        (status) => res.writeHead(status).end(),
        () => res.writeHead(500).end(),
      );
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const webhookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`;
  return {
    db,
    projectId,
    webhookUrl,
    route,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Running one history

export interface Divergence {
  missing: string[];
  extra: string[];
  staleEtag: string[];
}

export interface HistoryResult {
  faults: number;
  deliveries: number;
  failedDeliveries: number;
  deadLettered: number;
  ops: number;
  skippedOps: number;
  events: number;
  divergence?: Divergence;
  /** Anything that went wrong outside the mirror comparison (e.g. quiescence never reached). */
  error?: string;
}

interface Queued {
  data: NotificationMessage | ResyncMessage;
  publishTime: string;
  messageId: string;
  attempts: number;
}

/** Pub/Sub's maxDeliveryAttempts: after this many failures the message is dead-lettered. */
const MAX_ATTEMPTS = 5;
const HOUR = 3_600_000;
const BASE = Date.UTC(2030, 0, 7, 0, 0, 0);

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const basic = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');

let historyCounter = 0;

export async function runHistory(
  world: PropertyWorld,
  history: History,
  opts: { seed?: number; trace?: (line: string) => void } = {},
): Promise<HistoryResult> {
  const trace = opts.trace ?? (() => undefined);
  const n = ++historyCounter;
  const uid = `p${n}-${randomBytes(3).toString('hex')}`;
  const email = `${uid}@prop.test`;
  const refreshToken = `1//rt-${uid}`;
  const sim: Simulator = await startSimulator({
    seed: (opts.seed ?? 1) + n,
    rateLimitPerMinute: 1_000_000,
    notificationRetryBaseMs: 20,
    notificationMaxAttempts: 3,
  });
  const simc = new SimulatorClient(sim.url);
  const result: HistoryResult = {
    faults: 0,
    deliveries: 0,
    failedDeliveries: 0,
    deadLettered: 0,
    ops: 0,
    skippedOps: 0,
    events: 0,
  };
  try {
    await simc.createUser(email, refreshToken, { timeZone: 'UTC' });
    const { calendar: cal } = googleCalendar(sim.url, refreshToken, {
      forceRefreshOnFailure: true,
    });
    const offset = { ms: (await simc.now()) - Date.now() };
    const now = () => Date.now() + offset.ms;
    const advance = async (ms: number) => {
      offset.ms = (await simc.advanceClock(ms)) - Date.now();
    };

    const env: Record<string, string> = {
      GOOGLE_CLOUD_PROJECT: world.projectId,
      CALSYNC_CHANNEL_SECRET: CHANNEL_SECRET,
      CALSYNC_TOKEN_KEY: TOKEN_KEY,
      GOOGLE_OAUTH_CLIENT_ID: 'calsync-test-client',
      GOOGLE_OAUTH_CLIENT_SECRET: 'calsync-test-secret',
      CALSYNC_WEBHOOK_URL: world.webhookUrl,
      CALSYNC_CALENDAR_API_URL: `${sim.url}/`,
      CALSYNC_OAUTH_TOKEN_URL: sim.tokenUrl,
      CALSYNC_MAX_RESULTS: '3',
      CALSYNC_LEASE_SECONDS: '30',
      CALSYNC_RETRY_BUDGET_SECONDS: '1',
      CALSYNC_CLOCK_SKEW_SECONDS: '2',
      CALSYNC_SAFETY_NET_SECONDS: '120',
      CALSYNC_GOOGLE_TIMEOUT_MS: '10000',
    };
    const config: Readonly<RenewalConfig> = parseConfig(env, 'cli');
    const logger: Logger = createLogger({
      level: process.env.CALSYNC_PROPERTY_TRACE === '2' ? 'DEBUG' : 'ERROR',
      write: (line) => trace(line),
    });

    // The in-test Pub/Sub: the fault injector.
    const queue: Queued[] = [];
    let messageSeq = 0;
    const publish = (data: Queued['data']) =>
      queue.push({
        data,
        publishTime: new Date(now()).toISOString(),
        messageId: `${n}-${++messageSeq}`,
        attempts: 0,
      });
    const publisher: Publisher = {
      publish: (message) => {
        publish(message);
        return Promise.resolve(`${n}-${messageSeq}`);
      },
    };
    world.route.handle = async (req, bodyBytes) => {
      const out = await handleWebhook(
        { method: req.method ?? 'POST', headers: req.headers, bodyBytes },
        { config, publisher, logger, clock: () => new Date(now()) },
      );
      return out.status;
    };

    // Faults that fire inside the next sync, after a given page.
    const pageFaults: { kind: 'crash' | 'expire' | 'token'; page: number }[] = [];
    const calendarApi = calendarApiFactory(config, { baseMs: 20, capMs: 200 });
    const cliDeps: CliDeps = {
      db: world.db,
      config,
      calendarApi,
      logger,
      now,
      enqueuer: { enqueue: (m) => Promise.resolve(void publish(m)) },
      progress: () => undefined,
      holder: `prop-cli-${uid}`,
    };
    const syncDeps = (worker: number): SyncDeps => ({
      ...syncDepsOf(cliDeps),
      holderId: `prop-worker-${worker}`,
      hooks: {
        afterPage: async (page) => {
          const i = pageFaults.findIndex((f) => f.page <= page);
          if (i < 0) return;
          const [f] = pageFaults.splice(i, 1);
          trace(`  ! ${f!.kind} after page ${page}`);
          if (f!.kind === 'crash') throw new Error(`injected crash after page ${page}`);
          if (f!.kind === 'expire') await simc.expireSyncTokens(email);
          if (f!.kind === 'token') await advance(HOUR + 60_000);
        },
      },
    });

    // Seed, then connect through calsync connect's core (first full sync + watch channel).
    const state = new CalendarState(cal, email);
    for (let i = 0; i < history.seedSingles; i++) {
      await state.apply({ op: 'insert', day: i * 3, hour: 8 + (i % 8) });
    }
    for (let i = 0; i < history.seedSeries; i++) {
      await state.apply({ op: 'createSeries', day: i * 5, count: 5 });
    }
    const report = await connect(cliDeps, {
      uid,
      calendarId: 'primary',
      refreshToken,
      all: false,
    });
    const subscriptionId = report.calendar.subscriptionId;
    await sim.idle();
    queue.length = 0; // the channel's `sync` message and the seeding are covered by the first sync
    trace(`history ${n}: ${uid} connected (${report.calendar.sync.items} items)`);

    let worker = 0;
    const deliverOne = async (q: Queued): Promise<void> => {
      result.deliveries++;
      q.attempts++;
      try {
        const handled = await handleSyncMessage(syncDeps(++worker), {
          data: JSON.parse(JSON.stringify(q.data)) as unknown,
          publishTime: q.publishTime,
          messageId: q.messageId,
        });
        // syncWorker rejects such a message (RedeliverLaterError): Pub/Sub brings it back.
        if (mustRedeliver(handled)) throw new Error(`redeliver later (${handled.outcome})`);
      } catch (err) {
        result.failedDeliveries++;
        trace(`  delivery ${q.messageId} failed (${q.attempts}): ${String(err)}`);
        // Pub/Sub redelivers later; after maxDeliveryAttempts the message is dead-lettered.
        if (q.attempts >= MAX_ATTEMPTS) result.deadLettered++;
        else queue.push(q);
      }
    };

    for (const step of history.steps) {
      trace(`step ${JSON.stringify(step)} (queue ${queue.length})`);
      if (!isFault(step)) {
        result.ops++;
        const applied = await state.apply(step).catch((err: unknown) => {
          // An edit the simulator refuses is the history's problem, not calsync's: skip it.
          trace(`  op refused: ${err instanceof Error ? err.message : String(err)}`);
          return false;
        });
        if (!applied) result.skippedOps++;
        await sim.idle();
        continue;
      }
      result.faults += step.fault === 'deliver' ? 0 : 1;
      switch (step.fault) {
        case 'deliver':
          for (const q of queue.splice(0, step.n)) await deliverOne(q);
          break;
        case 'deliverConcurrently':
          await Promise.all(queue.splice(0, step.n).map(deliverOne));
          break;
        case 'drop':
          if (queue.length > 0) queue.splice(step.pick % queue.length, 1);
          break;
        case 'duplicate':
          if (queue.length > 0) {
            const q = queue[step.pick % queue.length]!;
            queue.push({ ...q, attempts: 0 });
          }
          break;
        case 'delay':
          if (queue.length > 1) queue.push(queue.shift()!);
          break;
        case 'reorder':
          shuffle(queue, step.key);
          break;
        case 'expireTokens':
          await simc.expireSyncTokens(email);
          break;
        case 'expireMidPaging':
          pageFaults.push({ kind: 'expire', page: step.page });
          break;
        case 'accessTokenExpiry':
          pageFaults.push({ kind: 'token', page: step.page });
          break;
        case 'crashAfterPage':
          pageFaults.push({ kind: 'crash', page: step.page });
          break;
        case 'apiErrors':
          await simc.addFault({
            method: 'GET',
            path: '/\\/events$/',
            status: step.status,
            reason:
              step.status === 403
                ? 'rateLimitExceeded'
                : step.status === 429
                  ? 'rateLimitExceeded'
                  : 'backendError',
            count: step.count,
          });
          break;
        case 'deadLease':
          await acquireLease(world.db, subscriptionId, {
            holder: `dead-worker-${uid}`,
            now: now(),
            leaseMs: config.leaseMs,
            clockSkewMs: config.clockSkewMs,
            trigger: { kind: 'resync', full: false },
          });
          break;
        case 'leaseExpiry':
          await advance(config.leaseMs + 1000);
          break;
        case 'renewal': {
          const sub = (
            await world.db.doc(paths.subscription(subscriptionId)).get()
          ).data() as SubscriptionDoc;
          const expires = sub.channel?.expiration.toMillis();
          if (expires !== undefined) {
            const target = step.pastExpiry ? expires + HOUR : expires - HOUR;
            if (target > now()) await advance(target - now());
          }
          if (step.stragglers) await simc.setStragglerAfterStop(1);
          if (step.pastExpiry) {
            // A change while no channel is live: only the recovery sync can find it.
            await state.apply({ op: 'insert', day: 1, hour: 12 });
            await sim.idle();
          }
          const summary = await renewChannelsCore({
            ...cliDeps,
            holderId: `prop-renewal-${++worker}`,
          });
          trace(`  renewal: ${JSON.stringify(summary)}`);
          await sim.idle();
          break;
        }
        case 'googleDrops':
          await simc.setDropRate(step.rate);
          break;
      }
    }

    // Quiescence: faults end, time passes (leases expire), every message is delivered, then the
    // scheduler's renewChannels run enqueues the safety-net sync, which is delivered too.
    await simc.clearFaults();
    await simc.setDropRate(0);
    await sim.idle();
    const drain = async () => {
      for (let round = 0; queue.length > 0; round++) {
        if (round > 200) throw new Error(`queue never drained (${queue.length} left)`);
        await deliverOne(queue.shift()!);
      }
    };
    await advance(config.leaseMs + 1000);
    await drain();
    pageFaults.length = 0;
    await advance(config.safetyNetMs + 1000);
    await renewChannelsCore({ ...cliDeps, holderId: `prop-renewal-final-${uid}` });
    await sim.idle();
    await drain();
    // The safety net itself may have been enqueued before a last redelivery; one more for certainty.
    for (let i = 0; i < 5; i++) {
      publish(resyncMessage(subscriptionId, 'safety-net', now()));
      await drain();
      const sub = (
        await world.db.doc(paths.subscription(subscriptionId)).get()
      ).data() as SubscriptionDoc;
      if (!sub.pending && !sub.fullSyncRequested && !sub.lease) break;
      await advance(config.leaseMs + 1000);
    }

    const truth = await truthOf(cal, email);
    const mirror = await mirrorOf(world.db, uid, email);
    result.events = truth.size;
    const divergence = compare(truth, mirror);
    if (divergence) result.divergence = divergence;
    return result;
  } catch (err) {
    result.error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    return result;
  } finally {
    world.route.handle = undefined;
    await sim.close();
  }
}

function shuffle<T>(items: T[], key: number): void {
  let x = key + 1;
  const rnd = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

/** The mirror: id → etag of every event document (live events and tombstones). */
export async function mirrorOf(
  db: Firestore,
  uid: string,
  calendarId: string,
): Promise<Map<string, string>> {
  const docs = await mirrorDocuments<{ etag?: string }>(db, uid, calendarId);
  return new Map([...docs].map(([id, d]) => [id, d.etag ?? '']));
}

export function compare(
  truth: Map<string, string>,
  mirror: Map<string, string>,
): Divergence | undefined {
  const missing = [...truth.keys()].filter((id) => !mirror.has(id));
  const extra = [...mirror.keys()].filter((id) => !truth.has(id));
  const staleEtag = [...truth].filter(([id, e]) => mirror.has(id) && mirror.get(id) !== e);
  if (missing.length + extra.length + staleEtag.length === 0) return undefined;
  return {
    missing,
    extra,
    staleEtag: staleEtag.map(([id, e]) => `${id}: google ${e}, mirror ${mirror.get(id)}`),
  };
}

// ---------------------------------------------------------------------------------------------
// Calendar operations through Google's own endpoints (the simulator)

/** What the history knows about the calendar, to pick targets for operations. */
class CalendarState {
  readonly singles: string[] = [];
  readonly series: string[] = [];
  readonly deleted: string[] = [];
  private counter = 0;

  constructor(
    private readonly cal: calendar_v3.Calendar,
    private readonly calendarId: string,
  ) {}

  private pick<T>(list: T[], i: number): T | undefined {
    return list.length === 0 ? undefined : list[i % list.length];
  }

  private async instances(masterId: string): Promise<calendar_v3.Schema$Event[]> {
    const { data } = await this.cal.events.instances({
      calendarId: this.calendarId,
      eventId: masterId,
      maxResults: 50,
    });
    return data.items ?? [];
  }

  /** Applies one operation; false when it had no target (e.g. no series yet). */
  async apply(op: CalendarOp): Promise<boolean> {
    const calendarId = this.calendarId;
    const c = ++this.counter;
    switch (op.op) {
      case 'insert': {
        const start = BASE + op.day * 24 * HOUR + op.hour * HOUR;
        const { data } = await this.cal.events.insert({
          calendarId,
          requestBody: {
            summary: `single ${c}`,
            start: { dateTime: iso(start) },
            end: { dateTime: iso(start + HOUR / 2) },
          },
        });
        this.singles.push(data.id!);
        return true;
      }
      case 'update': {
        const id = this.pick([...this.singles, ...this.series], op.pick);
        if (!id) return false;
        await this.cal.events.patch({
          calendarId,
          eventId: id,
          requestBody: { summary: `updated ${c}`, location: `room ${c % 7}` },
        });
        return true;
      }
      case 'move': {
        const id = this.pick(this.singles, op.pick);
        if (!id) return false;
        const { data } = await this.cal.events.get({ calendarId, eventId: id });
        const start = Date.parse(data.start!.dateTime!) + op.hours * HOUR;
        await this.cal.events.patch({
          calendarId,
          eventId: id,
          requestBody: {
            start: { dateTime: iso(start) },
            end: { dateTime: iso(start + HOUR / 2) },
          },
        });
        return true;
      }
      case 'delete': {
        const id = this.pick(this.singles, op.pick);
        if (!id) return false;
        await this.cal.events.delete({ calendarId, eventId: id });
        this.singles.splice(this.singles.indexOf(id), 1);
        this.deleted.push(id);
        return true;
      }
      case 'restore': {
        // Re-inserting a deleted id is a 409 at Google; bringing it back is an update to "confirmed".
        const id = this.pick(this.deleted, op.pick);
        if (!id) return false;
        await this.cal.events.patch({
          calendarId,
          eventId: id,
          requestBody: { status: 'confirmed', summary: `restored ${c}` },
        });
        this.deleted.splice(this.deleted.indexOf(id), 1);
        this.singles.push(id);
        return true;
      }
      case 'createSeries': {
        const start = BASE + op.day * 24 * HOUR + 9 * HOUR;
        const { data } = await this.cal.events.insert({
          calendarId,
          requestBody: {
            summary: `series ${c}`,
            recurrence: [`RRULE:FREQ=DAILY;COUNT=${op.count}`],
            start: { dateTime: iso(start), timeZone: 'UTC' },
            end: { dateTime: iso(start + HOUR), timeZone: 'UTC' },
          },
        });
        this.series.push(data.id!);
        return true;
      }
      case 'editInstance':
      case 'cancelInstance': {
        const master = this.pick(this.series, op.pick);
        if (!master) return false;
        const list = await this.instances(master);
        const inst = this.pick(list, op.instance);
        if (!inst) return false;
        if (op.op === 'cancelInstance') {
          await this.cal.events.delete({ calendarId, eventId: inst.id! });
        } else {
          await this.cal.events.patch({
            calendarId,
            eventId: inst.id!,
            requestBody: { summary: `instance edit ${c}` },
          });
        }
        return true;
      }
      case 'thisAndFollowing': {
        const master = this.pick(this.series, op.pick);
        if (!master) return false;
        const list = await this.instances(master);
        if (list.length < 2) return false;
        const k = 1 + (op.instance % (list.length - 1));
        const from = Date.parse(list[k]!.originalStartTime!.dateTime!);
        await this.cal.events.patch({
          calendarId,
          eventId: master,
          requestBody: { recurrence: [`RRULE:FREQ=DAILY;UNTIL=${basic(from - 60_000)}`] },
        });
        const { data } = await this.cal.events.insert({
          calendarId,
          requestBody: {
            summary: `following ${c}`,
            recurrence: [`RRULE:FREQ=DAILY;COUNT=${list.length - k}`],
            start: { dateTime: iso(from), timeZone: 'UTC' },
            end: { dateTime: iso(from + HOUR), timeZone: 'UTC' },
          },
        });
        this.series.push(data.id!);
        return true;
      }
      case 'editSeries': {
        const master = this.pick(this.series, op.pick);
        if (!master) return false;
        const { data } = await this.cal.events.get({ calendarId, eventId: master });
        const start = Date.parse(data.start!.dateTime!) + HOUR;
        // Moving the whole series re-sends every exception (Google re-times them).
        await this.cal.events.patch({
          calendarId,
          eventId: master,
          requestBody: {
            start: { dateTime: iso(start), timeZone: 'UTC' },
            end: { dateTime: iso(start + HOUR), timeZone: 'UTC' },
          },
        });
        return true;
      }
      case 'deleteSeries': {
        const master = this.pick(this.series, op.pick);
        if (!master) return false;
        await this.cal.events.delete({ calendarId, eventId: master });
        this.series.splice(this.series.indexOf(master), 1);
        return true;
      }
    }
  }
}

export function describeDivergence(d: Divergence): string {
  const part = (name: string, xs: string[]) =>
    xs.length
      ? `${name} (${xs.length}): ${xs.slice(0, 8).join(', ')}${xs.length > 8 ? ', …' : ''}`
      : '';
  return [part('missing', d.missing), part('extra', d.extra), part('stale etag', d.staleEtag)]
    .filter(Boolean)
    .join('; ');
}
