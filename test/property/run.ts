// Runs one history: the simulator plays Google on the world clock, real calsync cores play the workers, the webhook and renewal; faults are injected where they take effect, then the end state is checked.
import { randomBytes } from 'node:crypto';
import type { calendar_v3 } from '@googleapis/calendar';
import type { ListEventsParams, EventsPage } from '../../functions/calendar/api.js';
import { calendarApiFactory } from '../../functions/calendar/client.js';
import type { LifecycleDeps } from '../../functions/channels/deps.js';
import type { ChangePublisher } from '../../functions/changes/publisher.js';
import type { CliDeps } from '../../functions/cli/deps.js';
import { connect } from '../../functions/cli/commands/connect.js';
import { parseConfig, type RenewalConfig } from '../../functions/config.js';
import { createLogger, type Logger } from '../../functions/log.js';
import type { ScheduledMessage } from '../../functions/messages.js';
import { renewChannelsCore, type RenewalSummary } from '../../functions/renewal/core.js';
import { resyncMessage } from '../../functions/renewal/enqueue.js';
import { paths, SUBSCRIPTIONS } from '../../functions/store/schema.js';
import type { SyncDeps } from '../../functions/sync/deps.js';
import { handleSyncMessage, mustRedeliver } from '../../functions/sync/handle.js';
import { handleWebhook, type Publisher } from '../../functions/webhook/handler.js';
import { calendarListNotifier } from '../../functions/worker/function.js';
import {
  googleCalendar,
  SimulatorClient,
  type FaultSpec,
  type RequestLogEntry,
} from '../simulator/client.js';
import { startSimulator, type Simulator } from '../simulator/index.js';
import type { RealismKnobs } from '../simulator/realism.js';
import { CalendarOps, type HistoryCalendar } from './calendar-ops.js';
import { checkHistory, mirrorEvents, type Divergence, type MirrorEvent } from './checks.js';
import { WorldClock } from './clock.js';
import { Effects, type FaultClass } from './effects.js';
import { isFault, ZONES, type CalendarOp, type Fault, type History, type Step } from './history.js';
import {
  capturePublisher,
  drawLatency,
  drawStoreLatency,
  Gate,
  interceptApi,
  never,
  prng,
  sleep,
  type FeedEntry,
  type Interceptor,
} from './intercept.js';
import { PubSubModel, type Queued } from './pubsub.js';
import type { HoldHandle } from '../harness/grpc-proxy.js';
import type { Lane, PropertyWorld } from './world.js';

export interface HistoryResult {
  ops: number;
  skippedOps: number;
  deliveries: number;
  failedDeliveries: number;
  deadLettered: number;
  /** Events Google holds at the end, over all calendars it still serves. */
  events: number;
  calendars: number;
  effects: Effects;
  divergences: Divergence[];
  /** Anything that went wrong outside the comparison (e.g. quiescence never reached). */
  error?: string;
  seconds: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const CHANNEL_SECRET = randomBytes(32).toString('base64url');
const TOKEN_KEY = randomBytes(32).toString('base64');

/** Crashes armed by the history: they hit the next worker that reaches the call. */
interface Armed {
  /** Throw at a worker's events.list call number `crashAt` (0-based): its `finally` blocks run. */
  crashAt?: number;
  /** Die at a worker's events.list call number `killAt`: it never continues, its lease stays held. */
  killAt?: number;
}

/** What a worker (one delivery) is scripted to do besides its job. */
interface WorkerPlan {
  /** Withhold the first events.watch answer for this calendar until the gate opens. */
  holdWatch?: { calendarId: string; gate: Gate };
  /** Withhold the first change feed publish until the gate opens. */
  holdPublish?: Gate;
  /** Runs once, after the first events.list answer that has items. */
  onItems?: () => void;
  /** Runs once, after an events.list answer with more pages to come (incremental only if told). */
  onPaging?: { incrementalOnly: boolean; run: (calendarId: string) => Promise<void> };
  /** Set when the worker was killed. */
  killed?: () => void;
}

/** A fault that took effect if Google's request log shows a matching answer in a time range. */
interface LogCheck {
  cls: FaultClass;
  from: number;
  until?: number;
  match: (e: RequestLogEntry) => boolean;
  /** Also counted when this check is met (e.g. the `lift` of a permanent error that bit). */
  also?: FaultClass;
}

export class HistoryRun {
  readonly result: HistoryResult;
  private readonly effects = new Effects();
  private readonly uid = `p${randomBytes(4).toString('hex')}`;
  private readonly email = `${this.uid}@prop.test`;
  private readonly refreshToken = `1//rt-${this.uid}`;
  private sim!: Simulator;
  private simc!: SimulatorClient;
  private cal!: calendar_v3.Calendar;
  private clock!: WorldClock;
  private config!: Readonly<RenewalConfig>;
  private logger!: Logger;
  private queue!: PubSubModel;
  private ops!: CalendarOps;
  private readonly feed: FeedEntry[] = [];
  private readonly realApi = () => calendarApiFactory(this.config, { baseMs: 20, capMs: 200 });
  private workers = 0;
  private armed: Armed = {};
  private readonly background = new Set<Promise<unknown>>();
  private readonly active = new Map<string, number>();
  private readonly logChecks: LogCheck[] = [];
  private readonly spurious = new Set<string>();
  /** The log check of each calendar's permanent error (closed when it is lifted). */
  private readonly permanentChecks = new Map<HistoryCalendar, LogCheck>();
  /** Background deliveries, until the next step has seen whether they were still running. */
  private backgroundBatches: { settled: boolean }[] = [];
  /** A loss only the safety net can cover happened (Google dropped a notification, a message was lost). */
  private needsSafetyNet = false;
  private baseline = new Map<string, Map<string, MirrorEvent>>();
  /** A fixed lag is set and no change was made under it yet. */
  private lagging = false;
  /** The simulator's own visibility lag (realism), restored when a fixed one ends. */
  private realismLag: RealismKnobs['visibilityLagMs'] | undefined;

  constructor(
    private readonly world: PropertyWorld,
    private readonly history: History,
    private readonly trace: (line: string) => void,
  ) {
    this.result = {
      ops: 0,
      skippedOps: 0,
      deliveries: 0,
      failedDeliveries: 0,
      deadLettered: 0,
      events: 0,
      calendars: history.calendars.length,
      effects: this.effects,
      divergences: [],
      seconds: 0,
    };
  }

  async run(): Promise<HistoryResult> {
    const started = Date.now();
    try {
      await this.setUp();
      for (const step of this.history.steps) await this.step(step);
      await this.quiesce();
      await this.check();
    } catch (err) {
      this.result.error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    } finally {
      this.world.route.handle = undefined;
      for (const lane of [this.world.shared, this.world.stalled]) lane.proxy.latency = () => 0;
      await this.sim?.close();
      this.result.seconds = (Date.now() - started) / 1000;
    }
    return this.result;
  }

  // -------------------------------------------------------------------------------------------
  // Setting up: the user, their calendars, `calsync connect --all`

  private async setUp(): Promise<void> {
    const h = this.history;
    this.trace('history: starting the simulator');
    this.sim = await startSimulator({
      // Google as hard as it is (contract D): lags, duplicates, live paging, short and empty pages,
      // token lifetime, untidy events. CALSYNC_PROPERTY_REALISM=off runs the kind simulator.
      ...(process.env.CALSYNC_PROPERTY_REALISM === 'off' ? {} : { realism: 'google' as const }),
      ...h.realism,
      seed: h.simSeed,
      rateLimitPerMinute: 1_000_000,
      notificationRetryBaseMs: 20,
      notificationMaxAttempts: 3,
    });
    this.simc = new SimulatorClient(this.sim.url);
    this.clock = await WorldClock.of(this.simc);
    this.realismLag = (await this.simc.realism()).visibilityLagMs;
    this.config = parseConfig(
      {
        GOOGLE_CLOUD_PROJECT: this.world.projectId,
        CALSYNC_CHANNEL_SECRET: CHANNEL_SECRET,
        CALSYNC_TOKEN_KEY: TOKEN_KEY,
        GOOGLE_OAUTH_CLIENT_ID: 'calsync-test-client',
        GOOGLE_OAUTH_CLIENT_SECRET: 'calsync-test-secret',
        CALSYNC_WEBHOOK_URL: this.world.webhookUrl,
        CALSYNC_CALENDAR_API_URL: `${this.sim.url}/`,
        CALSYNC_OAUTH_TOKEN_URL: this.sim.tokenUrl,
        CALSYNC_MAX_RESULTS: '3',
        CALSYNC_RETRY_BUDGET_SECONDS: '1',
      },
      'cli',
    );
    this.logger = createLogger({
      level: process.env.CALSYNC_PROPERTY_TRACE === '2' ? 'DEBUG' : 'ERROR',
      write: (line) => this.trace(line),
    });
    this.queue = new PubSubModel(this.clock.now, this.uid);
    this.routeWebhook();
    // Firestore latency per call, in both lanes (one stream per history).
    const storeRnd = prng(h.rngSeed ^ 0x5f3759df);
    for (const lane of [this.world.shared, this.world.stalled]) {
      lane.proxy.latency = () => drawStoreLatency(storeRnd);
    }

    const calendars: HistoryCalendar[] = [];
    for (const [i, spec] of h.calendars.entries()) {
      const zone = ZONES[spec.zone % ZONES.length]!;
      let id = this.email;
      if (i === 0) await this.simc.createUser(this.email, this.refreshToken, { timeZone: zone });
      else id = await this.simc.createCalendar(this.email, { summary: `cal ${i}`, timeZone: zone });
      calendars.push({
        id,
        zone,
        singles: [],
        allDay: [],
        series: [],
        allDaySeries: new Set(),
        deleted: [],
        oversized: new Set(),
        gone: false,
      });
    }
    this.cal = googleCalendar(this.sim.url, this.refreshToken, {
      forceRefreshOnFailure: true,
    }).calendar;
    const now = this.clock.now();
    this.ops = new CalendarOps(this.cal, this.simc, calendars, now - (now % DAY));
    for (const [i, spec] of h.calendars.entries()) {
      for (let k = 0; k < spec.seedSingles; k++) {
        await this.ops.apply({ op: 'insert', cal: i, day: k * 3, hour: 8 + (k % 8) });
      }
      for (let k = 0; k < spec.seedAllDay; k++) {
        await this.ops.apply({ op: 'insertAllDay', cal: i, day: 2 + k * 4, days: 1 + (k % 2) });
      }
      for (let k = 0; k < spec.seedSeries; k++) {
        const allDay = k % 2 === 1;
        await this.ops.apply({ op: 'createSeries', cal: i, day: k * 5, count: 5, allDay });
      }
    }
    this.trace(`history ${this.uid}: seeded; connecting`);
    await connect(this.cliDeps(), {
      uid: this.uid,
      calendarId: 'primary',
      refreshToken: this.refreshToken,
      all: calendars.length > 1,
    });
    const subs = await this.world.db.collection(SUBSCRIPTIONS).where('uid', '==', this.uid).get();
    for (const d of subs.docs) {
      const c = calendars.find((x) => x.id === d.get('calendarId'));
      if (c) c.subscriptionId = d.id;
    }
    await this.sim.idle();
    this.queue.take(Number.MAX_SAFE_INTEGER); // the seeding is covered by connect's syncs
    for (const c of calendars) {
      this.baseline.set(c.id, await mirrorEvents(this.world.db, this.uid, c.id));
    }
    this.feed.length = 0; // the feed is checked from the baseline on (connect announced the seeding)
    this.trace(`history ${this.uid}: ${calendars.length} calendar(s) connected`);
  }

  private routeWebhook(): void {
    const publisher: Publisher = {
      publish: (message) => Promise.resolve(this.queue.publish(message).messageId),
    };
    this.world.route.handle = async (req, bodyBytes) => {
      const out = await handleWebhook(
        { method: req.method ?? 'POST', headers: req.headers, bodyBytes },
        {
          config: this.config,
          publisher,
          logger: this.logger,
          clock: () => new Date(this.clock.now()),
        },
      );
      return out.status;
    };
  }

  /**
   * As production builds them: the CLI and renewChannels announce their syncs (connect, a calendar
   * added by reconcile) on the change feed, like the worker (feed entries of worker 0).
   */
  private lifecycleDeps(
    lane: Lane = this.world.shared,
    intercept?: Interceptor,
    changes: ChangePublisher = capturePublisher(0, this.feed, () => Promise.resolve()),
  ): LifecycleDeps {
    return {
      db: lane.db,
      config: this.config,
      calendarApi: intercept ? interceptApi(this.realApi(), intercept) : this.realApi(),
      logger: this.logger,
      now: this.clock.now,
      changes,
    };
  }

  private cliDeps(): CliDeps {
    return {
      ...this.lifecycleDeps(),
      enqueuer: { enqueue: (m) => Promise.resolve(void this.queue.publish(m)) },
      progress: () => undefined,
      holder: `prop-cli-${this.uid}`,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Workers

  /** One worker instance (one delivery): its own latency stream, its own script, its own lane. */
  private worker(plan: WorkerPlan, lane: Lane): SyncDeps {
    const id = ++this.workers;
    const changes = capturePublisher(id, this.feed, async () => {
      await sleep(drawLatency(prng(this.history.rngSeed ^ (id * 7919))));
      const gate = plan.holdPublish;
      if (gate && !gate.engaged) await gate.hold();
    });
    const lifecycle = this.lifecycleDeps(lane, this.interceptor(id, plan), changes);
    const deps: SyncDeps = {
      db: lane.db,
      calendarApi: lifecycle.calendarApi,
      config: this.config,
      logger: this.logger,
      clock: this.clock.now,
      holderId: `w${id}`,
      // A worker's pauses (re-check, spacing) pass on the world clock, not in real time.
      sleep: (ms) => this.clock.advance(ms),
      changes,
    };
    deps.calendarListNotification = calendarListNotifier(deps, lifecycle);
    return deps;
  }

  private interceptor(worker: number, plan: WorkerPlan): Interceptor {
    const rnd = prng(this.history.rngSeed ^ (worker * 2654435761));
    let lists = 0;
    return async (call, invoke) => {
      await sleep(drawLatency(rnd));
      if (call.method === 'listEvents') {
        const i = lists++;
        if (this.armed.killAt === i) {
          this.armed.killAt = undefined;
          this.trace(`  ! worker ${worker} killed at events.list #${i}`);
          this.effects.hit('kill');
          plan.killed?.();
          return never();
        }
        if (this.armed.crashAt === i) {
          this.armed.crashAt = undefined;
          this.trace(`  ! worker ${worker} crashes at events.list #${i}`);
          this.effects.hit('crash');
          throw new Error(`injected crash at events.list #${i}`);
        }
      }
      const result = await invoke();
      if (call.method === 'listEvents') {
        await this.afterList(plan, call.args[0] as ListEventsParams, result as EventsPage);
      }
      const watch = plan.holdWatch;
      if (watch && call.method === 'watchEvents' && watch.calendarId === call.args[0]) {
        if (!watch.gate.engaged) await watch.gate.hold();
      }
      return result;
    };
  }

  private async afterList(plan: WorkerPlan, params: ListEventsParams, page: EventsPage) {
    if (page.items.length > 0 && plan.onItems) {
      const f = plan.onItems;
      plan.onItems = undefined;
      f();
    }
    const paging = plan.onPaging;
    if (page.nextPageToken && paging && (!paging.incrementalOnly || params.syncToken)) {
      plan.onPaging = undefined;
      await paging.run(params.calendarId);
    }
  }

  /** Delivers one message to a new worker, as the Pub/Sub push subscription would. */
  private async deliver(
    q: Queued,
    plan: WorkerPlan = {},
    lane: Lane = this.world.shared,
  ): Promise<'acked' | 'nacked' | 'killed'> {
    this.result.deliveries++;
    q.attempts++;
    const sub = q.data.subscriptionId;
    if ((this.active.get(sub) ?? 0) > 0) this.effects.hit('overlap');
    this.active.set(sub, (this.active.get(sub) ?? 0) + 1);
    const killed = new Promise<'killed'>((r) => (plan.killed = () => r('killed')));
    const deps = this.worker(plan, lane);
    const run = (async () => {
      try {
        const handled = await handleSyncMessage(deps, {
          data: JSON.parse(JSON.stringify(q.data)) as unknown,
          publishTime: q.publishTime,
          messageId: q.messageId,
        });
        this.trace(`  delivery ${q.messageId} (${q.data.kind}) → ${handled.outcome}`);
        if (this.spurious.has(q.messageId)) this.effects.hit('notExists:spurious');
        // syncWorker rejects such a message (RedeliverLaterError): Pub/Sub brings it back.
        if (mustRedeliver(handled)) throw new Error(`redeliver later (${handled.outcome})`);
        return 'acked' as const;
      } catch (err) {
        this.trace(`  delivery ${q.messageId} failed (${q.attempts}): ${String(err)}`);
        this.result.failedDeliveries++;
        this.nack(q);
        return 'nacked' as const;
      }
    })();
    const outcome = await Promise.race([run, killed]);
    this.active.set(sub, (this.active.get(sub) ?? 1) - 1);
    // A dead worker never acknowledges: Pub/Sub redelivers after the ack deadline.
    if (outcome === 'killed') this.nack(q);
    return outcome;
  }

  private nack(q: Queued): void {
    if (this.queue.nack(q) === 'deadLettered') {
      this.result.deadLettered++;
      this.effects.hit('deadLetter');
    } else {
      this.effects.hit('redelivery');
    }
  }

  /** Delivers every due message of one subscription, one after the other. */
  private async deliverAllFor(subscriptionId: string): Promise<number> {
    let n = 0;
    for (let q = this.queue.takeFor(subscriptionId); q; q = this.queue.takeFor(subscriptionId)) {
      await this.deliver(q);
      n++;
    }
    return n;
  }

  /** The next message of a calendar (a resync when Google's notification never came). */
  private messageFor(c: HistoryCalendar): Queued {
    return this.queue.takeFor(c.subscriptionId!) ?? this.resync(c.subscriptionId!);
  }

  /** A resync message (as the safety net, or `calsync resync --full`, would publish it). */
  private resync(subscriptionId: string, full = false): Queued {
    const reason = full ? 'manual' : 'safety-net';
    return this.queue.remove(
      this.queue.publish(resyncMessage(subscriptionId, reason, this.clock.now(), full)),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Steps

  private async step(step: Step): Promise<void> {
    this.trace(`step ${JSON.stringify(step)} (queue ${this.queue.size})`);
    this.noteBackground();
    if (!isFault(step)) {
      await this.apply(step);
      return;
    }
    await this.fault(step);
  }

  private async apply(op: CalendarOp): Promise<boolean> {
    this.result.ops++;
    const applied = await this.ops.apply(op).catch((err: unknown) => {
      // An edit Google refuses is the history's problem, not calsync's: skip it.
      this.trace(`  op refused: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    });
    if (!applied) this.result.skippedOps++;
    else if (this.lagging) {
      this.effects.hit('visibilityLag');
      this.lagging = false;
    } else if (op.op === 'oversize') this.effects.hit('oversize');
    else if (op.op === 'deleteCalendar') this.effects.hit('notExists:real');
    else if (op.op === 'setTimeZone') {
      const c = this.ops.target(op.cal)!;
      if (c.allDay.length > 0 || c.allDaySeries.size > 0) this.effects.hit('setTimeZone');
    }
    await this.sim.idle();
    return applied;
  }

  /** A fixed visibility lag (ms), or realism's own lags again (0). */
  private async setLag(ms: number): Promise<void> {
    this.lagging = ms > 0;
    await this.simc.setRealism({
      visibilityLagMs: ms > 0 ? ms : (this.realismLag ?? 0),
    });
  }

  private served(index: number): HistoryCalendar | undefined {
    const c = this.ops.target(index);
    return c?.subscriptionId && !c.permanent ? c : undefined;
  }

  private async fault(f: Fault): Promise<void> {
    switch (f.fault) {
      case 'deliver':
        for (const q of this.queue.take(f.n)) await this.deliver(q);
        return;
      case 'deliverConcurrently': {
        const qs = this.queue.take(f.n);
        if (qs.length >= 2) this.effects.hit('deliverConcurrently');
        await Promise.all(qs.map((q) => this.deliver(q)));
        return;
      }
      case 'deliverBackground':
        this.deliverBackground(f.n);
        return;
      case 'lose':
        if (this.queue.lose(f.pick)) {
          this.effects.hit('lose');
          this.needsSafetyNet = true;
        }
        return;
      case 'duplicate':
        if (this.queue.duplicate(f.pick)) this.effects.hit('duplicate');
        return;
      case 'delay':
        if (this.queue.delay()) this.effects.hit('delay');
        return;
      case 'reorder':
        if (this.queue.reorder(f.key)) this.effects.hit('reorder');
        return;
      case 'expireTokens':
        return this.expireTokens(f.cal);
      case 'expireMidPaging':
      case 'accessTokenExpiry':
        return this.duringPaging(f.fault);
      case 'apiErrors':
        return this.apiErrors(f.status, f.count);
      case 'permanent':
        return this.permanent(f);
      case 'lift':
        return this.lift(f.cal);
      case 'crash':
        this.effects.draw('crash');
        this.armed.crashAt = f.at;
        return;
      case 'kill':
        this.effects.draw('kill');
        this.armed.killAt = f.at;
        return;
      case 'stall':
        return this.stall(f);
      case 'notifyBeforeStore':
        return this.notifyBeforeStore(f.cal);
      case 'leaseExpiry':
        return this.leaseExpiry(f.cal);
      case 'renewal':
        return this.renewal(f.pastExpiry, f.stragglers);
      case 'visibilityLag':
        this.effects.draw('visibilityLag');
        await this.setLag(f.ms);
        return;
      case 'googleDrops':
        this.effects.draw('googleDrops');
        await this.simc.setDropRate(f.rate);
        return;
      case 'notExists':
        return f.real ? this.deleteCalendar(f.cal) : this.spuriousNotExists(f.cal);
    }
  }

  private deliverBackground(n: number): void {
    const qs = this.queue.take(n);
    if (qs.length === 0) return;
    this.effects.draw('deliverBackground');
    const batch = { settled: false };
    const all = Promise.all(qs.map((q) => this.deliver(q)));
    this.background.add(all);
    this.backgroundBatches.push(batch);
    void all.finally(() => {
      batch.settled = true;
      this.background.delete(all);
    });
  }

  /** A background batch still running when the next step starts overlapped the history. */
  private noteBackground(): void {
    for (const b of this.backgroundBatches) if (!b.settled) this.effects.hit('deliverBackground');
    this.backgroundBatches = [];
  }

  private logFrom(): number {
    return this.clock.now() - 2;
  }

  private async expireTokens(index: number): Promise<void> {
    const c = this.ops.target(index);
    if (!c) return;
    this.effects.draw('expireTokens');
    await this.simc.expireSyncTokens(c.id);
    const path = eventsPath(c.id);
    this.logChecks.push({
      cls: 'expireTokens',
      from: this.logFrom(),
      match: (e) => e.status === 410 && e.path === path,
    });
  }

  /** A 410 or a 401 in the middle of paging: enough changes that the next sync pages, then the fault between two pages. */
  private async duringPaging(kind: 'expireMidPaging' | 'accessTokenExpiry'): Promise<void> {
    const index = this.ops.calendars.findIndex((_, i) => this.served(i));
    const c = this.served(index);
    if (!c) return;
    this.effects.draw(kind);
    for (let k = 0; k < 4; k++) await this.apply({ op: 'insert', cal: index, day: 6 + k, hour: 7 });
    const from = this.logFrom();
    const plan: WorkerPlan = {};
    if (kind === 'expireMidPaging') {
      plan.onPaging = {
        incrementalOnly: true,
        run: (calendarId) => this.simc.expireSyncTokens(calendarId),
      };
      this.logChecks.push({
        cls: kind,
        from,
        match: (e) => e.status === 410 && e.path.endsWith('/events') && 'pageToken' in e.query,
      });
    } else {
      // The simulated clock passes the access token's life (1 h); calsync's client still holds it.
      plan.onPaging = { incrementalOnly: false, run: () => this.clock.advance(HOUR + 60_000) };
      this.logChecks.push({
        cls: kind,
        from,
        match: (e) => e.status === 401 && e.method === 'GET' && e.path.endsWith('/events'),
      });
    }
    await this.deliver(this.messageFor(c), plan);
  }

  private async apiErrors(status: 403 | 429 | 500 | 503, count: number): Promise<void> {
    const cls = `apiErrors:${status}` as FaultClass;
    this.effects.draw(cls);
    await this.simc.addFault({
      method: 'GET',
      path: '/\\/events$/',
      status,
      reason: status === 403 || status === 429 ? 'rateLimitExceeded' : 'backendError',
      count,
    });
    const permanentPaths = () =>
      this.ops.calendars.filter((c) => c.permanent).map((c) => eventsPath(c.id));
    const excluded = new Set(status === 403 ? permanentPaths() : []);
    this.logChecks.push({
      cls,
      from: this.logFrom(),
      match: (e) => e.status === status && e.path.endsWith('/events') && !excluded.has(e.path),
    });
  }

  private async permanent(f: Extract<Fault, { fault: 'permanent' }>): Promise<void> {
    const c = this.ops.target(f.cal);
    if (!c || c.permanent || !c.subscriptionId) return;
    const cls = `permanent:${f.kind}` as FaultClass;
    this.effects.draw(cls);
    c.permanent = { kind: f.kind, lift: f.lift };
    await this.addPermanentFaults(c);
    const root = calendarPath(c.id);
    const paths = new Set([root, `${root}/events`, `${root}/events/watch`]);
    const status = f.kind === 'badRequest' ? 400 : 403;
    const check: LogCheck = {
      cls,
      from: this.logFrom(),
      match: (e) => e.status === status && paths.has(e.path),
    };
    this.logChecks.push(check);
    this.permanentChecks.set(c, check);
  }

  /** Google answers every calsync call on this calendar (calendars.get, events.list, events.watch) with the error. */
  private async addPermanentFaults(c: HistoryCalendar): Promise<void> {
    const p = c.permanent!;
    const status = p.kind === 'badRequest' ? 400 : 403;
    const reason = p.kind === 'badRequest' ? 'badRequest' : p.kind;
    const root = escapeRegex(calendarPath(c.id));
    const count = 1_000_000_000;
    await this.simc.addFault({
      method: 'GET',
      path: `/^${root}(\\/events)?$/`,
      status,
      reason,
      count,
    });
    await this.simc.addFault({
      method: 'POST',
      path: `/^${root}\\/events\\/watch$/`,
      status,
      reason,
      count,
    });
  }

  private async lift(index: number): Promise<void> {
    const c = this.ops.target(index);
    if (!c?.permanent || c.permanent.lift === 'never') return;
    this.effects.draw('lift');
    await this.liftPermanent(c);
  }

  /** Removes one calendar's permanent faults (the simulator clears all; the others are re-added). */
  private async liftPermanent(c: HistoryCalendar): Promise<void> {
    const check = this.permanentChecks.get(c);
    if (check) {
      check.until = this.clock.now() + 2;
      check.also = 'lift';
      this.permanentChecks.delete(c);
    }
    const root = escapeRegex(calendarPath(c.id));
    await this.removeFaults((x) => !x.hold && (x.path ?? '').includes(root));
    const kind = c.permanent?.kind;
    c.permanent = undefined;
    if (kind === 'insufficientPermissions') await this.reconnectIfWaiting(c);
  }

  /**
   * The user granted the missing scope again: a calendar waiting in `needs_reauth` comes back only
   * through a person running `calsync connect` (README status machine) — the harness does it.
   */
  private async reconnectIfWaiting(c: HistoryCalendar): Promise<void> {
    const sub = await this.world.db.doc(paths.subscription(c.subscriptionId!)).get();
    if (sub.get('status') !== 'needs_reauth') return;
    this.trace(`  a person runs calsync connect again for ${c.id}`);
    await connect(this.cliDeps(), {
      uid: this.uid,
      calendarId: c.id,
      refreshToken: this.refreshToken,
      all: false,
    }).catch((err: unknown) => this.trace(`  connect failed: ${String(err)}`));
  }

  /** Removes the simulator's pending faults that match (it clears all; the others are re-added). */
  private async removeFaults(drop: (f: FaultSpec) => boolean): Promise<void> {
    const keep = (await this.simc.faults()).filter((x) => !drop(x));
    await this.simc.clearFaults();
    for (const x of keep) await this.simc.addFault(x);
  }

  private async leaseExpiry(cal: number | undefined): Promise<void> {
    this.effects.draw('leaseExpiry');
    if (cal !== undefined && !(await this.liveLease())) await this.dieHoldingLease(cal);
    if (await this.liveLease()) this.effects.hit('leaseExpiry');
    await this.clock.advance(this.config.leaseMs + 1000);
  }

  /** Some subscription of this history has a lease that has not expired on the world clock. */
  private async liveLease(): Promise<boolean> {
    const now = this.clock.now();
    const subs = await this.world.db.collection(SUBSCRIPTIONS).where('uid', '==', this.uid).get();
    return subs.docs.some((d) => {
      const until = (d.get('lease') as { expiresAt?: { toMillis(): number } } | null)?.expiresAt;
      return until !== undefined && until.toMillis() > now;
    });
  }

  /**
   * A worker dies holding a calendar's lease: an edit, and its message delivered to a worker killed
   * at its first events.list (the message goes back to the queue, as Pub/Sub redelivers it after
   * the ack deadline). A kill the history armed itself stays armed for the next worker.
   */
  private async dieHoldingLease(index: number): Promise<void> {
    const c = this.served(index);
    if (!c) return;
    this.trace(`  leaseExpiry: a worker dies holding ${c.id}'s lease`);
    await this.apply({ op: 'insert', cal: index, day: 4, hour: 11 });
    const armed = this.armed.killAt;
    this.armed.killAt = 0;
    await this.deliver(this.messageFor(c));
    this.armed.killAt = armed;
  }

  private renewalDeps(holder: string, intercept?: Interceptor) {
    return {
      ...this.lifecycleDeps(this.world.shared, intercept),
      enqueuer: { enqueue: (m: ScheduledMessage) => Promise.resolve(void this.queue.publish(m)) },
      holderId: `${holder}-${++this.workers}`,
    };
  }

  private async renewal(pastExpiry: boolean, stragglers: boolean): Promise<void> {
    this.effects.draw('renewal');
    const expiries: number[] = [];
    for (const c of this.ops.calendars) {
      if (!c.subscriptionId) continue;
      const sub = await this.world.db.doc(paths.subscription(c.subscriptionId)).get();
      const exp = (sub.get('channel') as { expiration?: { toMillis(): number } } | null)
        ?.expiration;
      if (exp) expiries.push(exp.toMillis());
    }
    if (expiries.length > 0) {
      const first = Math.min(...expiries);
      await this.clock.advanceTo(pastExpiry ? first + HOUR : first - HOUR);
    }
    if (stragglers) await this.simc.setStragglerAfterStop(1);
    if (pastExpiry) {
      // A change while no channel is live: only the recovery sync can find it.
      const index = this.ops.calendars.findIndex((_, i) => this.served(i));
      if (index >= 0) await this.apply({ op: 'insert', cal: index, day: 1, hour: 12 });
    }
    const summary = await this.scheduledRun('renewal');
    if (summary.renewed + summary.recovered > 0) this.effects.hit('renewal');
    if (pastExpiry && summary.recovered > 0) this.effects.hit('renewal:pastExpiry');
    if (stragglers) await this.countStragglers();
  }

  /** One run of the scheduled renewChannels, then whatever notifications it caused. */
  private async scheduledRun(name: string, intercept?: Interceptor): Promise<RenewalSummary> {
    const summary = await renewChannelsCore(this.renewalDeps(`prop-${name}`, intercept));
    this.trace(`  ${name}: ${JSON.stringify(summary)}`);
    await this.sim.idle();
    return summary;
  }

  /** A straggler: a notification that arrived on a channel already stopped. */
  private async countStragglers(): Promise<void> {
    const stopped = new Set((await this.simc.channels()).filter((c) => c.stopped).map((c) => c.id));
    const late = (await this.simc.notifications()).some(
      (n) => stopped.has(n.channelId) && n.status > 0 && n.state === 'exists',
    );
    if (late) this.effects.hit('stragglers');
  }

  private async deleteCalendar(index: number): Promise<void> {
    if (index % this.ops.calendars.length === 0) return this.spuriousNotExists(index);
    this.effects.draw('notExists:real');
    await this.apply({ op: 'deleteCalendar', cal: index });
  }

  /** A `not_exists` for a calendar Google still has (replayed, or spurious), through the real webhook. */
  private async spuriousNotExists(index: number): Promise<void> {
    const c = this.served(index);
    if (!c) return;
    const ch = (await this.simc.channels()).find(
      (x) =>
        x.kind === 'events' && x.target === c.id && !x.stopped && x.expiration > this.clock.now(),
    );
    if (!ch) return;
    this.effects.draw('notExists:spurious');
    // A replay carries a number Google already used on this channel (numbers only grow; a forged
    // larger one would claim changes not made yet).
    const numbers = (await this.simc.notifications())
      .filter((n) => n.channelId === ch.id)
      .map((n) => n.messageNumber);
    const number = Math.max(1, ...numbers);
    const before = this.queue.last;
    const res = await fetch(this.world.webhookUrl, {
      method: 'POST',
      headers: {
        'X-Goog-Channel-ID': ch.id,
        'X-Goog-Channel-Token': ch.token ?? '',
        'X-Goog-Channel-Expiration': new Date(ch.expiration).toUTCString(),
        'X-Goog-Resource-ID': ch.resourceId,
        'X-Goog-Resource-URI': ch.resourceUri,
        'X-Goog-Resource-State': 'not_exists',
        'X-Goog-Message-Number': String(number),
        'Content-Length': '0',
      },
    });
    await res.arrayBuffer();
    const forged = this.queue.last;
    if (forged && forged !== before && forged.data.kind === 'notification') {
      this.spurious.add(forged.messageId);
    }
    this.trace(`  forged not_exists on ${ch.id}: webhook ${res.status}`);
  }

  // -------------------------------------------------------------------------------------------
  // Scenarios

  /**
   * A worker stalls past its lease; another worker takes over and commits; then it resumes.
   * `incremental`: Google withholds its delta (computed when the request arrived). `full` is issue
   * 13's scenario: a full listing (`resync --full`) is read, withheld while another worker takes
   * over and commits and a new event E is created and synced, then arrives: none of its writes,
   * nor its sweep (which would delete E), may land. `write`: its first event batch is held in its
   * Firestore lane. `publish`: its change feed publish, after its token commit, waits while others
   * commit and publish.
   */
  private async stall(f: Extract<Fault, { fault: 'stall' }>): Promise<void> {
    const c = this.served(f.cal);
    if (!c) return;
    const cls = `stall:${f.at}` as FaultClass;
    this.effects.draw(cls);
    // A controlled experiment: nothing else runs beside it.
    await Promise.all(this.background);
    const index = this.ops.calendars.indexOf(c);
    const gate = new Gate();
    const plan: WorkerPlan = {};
    let lane = this.world.shared;
    let armed: HoldHandle | undefined;
    if (f.at === 'incremental' || f.at === 'full') await this.holdNextList(c);
    if (f.at === 'write') {
      lane = this.world.stalled;
      plan.onItems = () => {
        armed = lane.proxy.holdNext((m) => /\/(Commit|BatchWrite)$/.test(m));
        void armed.caught.then((call) => gate.hold().then(() => call.release()));
      };
    }
    if (f.at === 'publish') plan.holdPublish = gate;
    // Something for the stalled worker to write, and its notification.
    await this.apply({ op: 'insert', cal: index, day: 3, hour: 10 });
    const before = await this.syncsOf(c);
    const message = f.at === 'full' ? this.resync(c.subscriptionId!, true) : this.messageFor(c);
    const run = this.deliver(message, plan, lane);
    const release = await this.stalledOrDone(f.at, gate, run);
    if (!release) {
      this.trace(`  stall ${f.at}: the worker never reached the stall point`);
      await run;
      armed?.cancel();
      await this.removeFaults((x) => x.hold === true);
      return;
    }
    this.trace(`  stall ${f.at}: worker stalled; its lease runs out and the world moves on`);
    await this.clock.advance(this.config.leaseMs + 1000);
    await this.apply({ op: 'update', cal: index, pick: c.singles.length - 1 });
    for (const op of f.during) await this.apply(op);
    await this.syncNow(c);
    let tookOver = (await this.syncsOf(c)) > before;
    // A new event after the takeover, synced by yet another worker.
    await this.apply({ op: 'insert', cal: index, day: 4, hour: 11 });
    await this.syncNow(c);
    // A removal meanwhile (the calendar deleted at Google) is a takeover too.
    tookOver ||= c.gone;
    this.trace(
      `  stall ${f.at}: released (${tookOver ? 'others committed meanwhile' : 'nobody committed meanwhile'})`,
    );
    await release();
    await run;
    if (tookOver) this.effects.hit(cls);
  }

  /** Google will withhold its answer to the next events.list on this calendar (computed on arrival). */
  private async holdNextList(c: HistoryCalendar): Promise<void> {
    const root = escapeRegex(calendarPath(c.id));
    await this.simc.addFault({ method: 'GET', path: `/^${root}\\/events$/`, hold: true, count: 1 });
  }

  /**
   * Waits until the worker is stalled — Google holds an answer for it, or it reached the gate —
   * or its delivery ended first. Resolves with the way to let it go on, or undefined.
   */
  private async stalledOrDone(
    at: string,
    gate: Gate,
    run: Promise<unknown>,
  ): Promise<(() => Promise<void>) | undefined> {
    let done = false;
    void run.finally(() => (done = true));
    if (at === 'write' || at === 'publish') {
      await Promise.race([gate.reached, run]);
      return gate.engaged ? () => Promise.resolve(gate.release()) : undefined;
    }
    for (;;) {
      const [held] = await this.simc.heldRequests();
      if (held) return () => this.simc.releaseHeld(held.id);
      if (done) return undefined;
      await sleep(20);
    }
  }

  /** Delivers the calendar's queued messages now (a resync when Google's notification was lost). */
  private async syncNow(c: HistoryCalendar): Promise<void> {
    if ((await this.deliverAllFor(c.subscriptionId!)) === 0) {
      await this.deliver(this.resync(c.subscriptionId!));
    }
  }

  /** Completed syncs of a calendar so far. */
  private async syncsOf(c: HistoryCalendar): Promise<number> {
    const sub = await this.world.db.doc(paths.subscription(c.subscriptionId!)).get();
    return (sub.get('stats') as { syncs?: number } | undefined)?.syncs ?? 0;
  }

  /** Renewal opens a channel; a notification on it reaches a worker before renewal stored it. */
  private async notifyBeforeStore(index: number): Promise<void> {
    const c = this.served(index);
    if (!c) return;
    const sub = await this.world.db.doc(paths.subscription(c.subscriptionId!)).get();
    const channel = sub.get('channel') as { id: string; expiration: { toMillis(): number } } | null;
    if (sub.get('mode') !== 'push' || !channel) return;
    this.effects.draw('notifyBeforeStore');
    // Due for renewal: inside the renewal window.
    await this.clock.advanceTo(channel.expiration.toMillis() - HOUR);
    const gate = new Gate();
    const plan: WorkerPlan = { holdWatch: { calendarId: c.id, gate } };
    const renewal = this.scheduledRun('renewal-held', this.interceptor(++this.workers, plan));
    await Promise.race([gate.reached, renewal]);
    if (!gate.engaged) {
      await renewal;
      return;
    }
    // The new channel is live at Google, not yet stored: a change notifies both channels.
    await this.apply({ op: 'insert', cal: index, day: 2, hour: 15 });
    const known = new Set([channel.id, (sub.get('previousChannel') as { id?: string } | null)?.id]);
    let onNew = false;
    for (
      let q = this.queue.takeFor(c.subscriptionId!);
      q;
      q = this.queue.takeFor(c.subscriptionId!)
    ) {
      if (q.data.kind === 'notification' && !known.has(q.data.channelId)) onNew = true;
      await this.deliver(q);
    }
    gate.release();
    await renewal;
    if (onNew) this.effects.hit('notifyBeforeStore');
  }

  // -------------------------------------------------------------------------------------------
  // Quiescence, one scheduled run, checks

  private async quiesce(): Promise<void> {
    this.trace('quiescence: faults end');
    this.armed = {};
    await this.simc.setDropRate(0);
    await this.setLag(0);
    for (const c of this.ops.calendars) {
      if (c.permanent?.lift === 'later') await this.liftPermanent(c);
    }
    const keep = this.ops.calendars.filter((c) => c.permanent);
    await this.simc.clearFaults();
    for (const c of keep) await this.addPermanentFaults(c);
    await Promise.all(this.background);
    await this.sim.idle();
    await this.drain();
    const drops = (await this.simc.notifications()).filter((n) => n.status === -1).length;
    if (drops > 0) {
      this.effects.hit('googleDrops');
      this.needsSafetyNet = true;
    }
    // Time passes: leases expire; the safety net is due only if a loss nobody could see happened;
    // error calendars reach their next retry.
    let until = this.clock.now() + this.config.leaseMs + 1000;
    if (this.needsSafetyNet)
      until = Math.max(until, this.clock.now() + this.config.safetyNetMs + 1000);
    for (const c of this.ops.calendars) {
      if (c.gone || c.permanent) continue;
      const doc = await this.world.db.doc(paths.calendar(this.uid, c.id)).get();
      const next = (
        doc.get('sync.nextRetryAt') as { toMillis(): number } | null | undefined
      )?.toMillis();
      if (next !== undefined && doc.get('sync.status') === 'error')
        until = Math.max(until, next + 1000);
    }
    this.trace(
      `quiescence: one scheduled run at +${Math.round((until - this.clock.now()) / 1000)} s`,
    );
    await this.clock.advanceTo(until);
    await this.scheduledRun('scheduled');
    await this.drain();
  }

  /** Delivers until the queue is empty; time passes to each redelivery's backoff. */
  private async drain(): Promise<void> {
    for (let round = 0; this.queue.size > 0; round++) {
      if (round > 300) throw new Error(`the queue never drained (${this.queue.size} left)`);
      const due = this.queue.take(Number.MAX_SAFE_INTEGER);
      if (due.length === 0) {
        await this.clock.advanceTo(this.queue.nextDue()!);
        continue;
      }
      for (const q of due) await this.deliver(q);
      await this.sim.idle();
    }
  }

  private async check(): Promise<void> {
    const log = await this.simc.requests();
    const hit = (chk: LogCheck) =>
      log.some(
        (e) => e.at >= chk.from && (chk.until === undefined || e.at <= chk.until) && chk.match(e),
      );
    for (const chk of this.logChecks) {
      if (hit(chk)) {
        this.effects.hit(chk.cls);
        if (chk.also) this.effects.hit(chk.also);
      }
    }
    const now = this.clock.now();
    const today = now - (now % DAY);
    // The occurrence window (README: CALSYNC_OCCURRENCE_DAYS_BACK/AHEAD, whole UTC days).
    const window = {
      start: today - this.config.occurrenceDaysBack * DAY,
      end: today + (this.config.occurrenceDaysAhead + 1) * DAY,
    };
    const { divergences, events } = await checkHistory({
      db: this.world.db,
      cal: this.cal,
      uid: this.uid,
      calendars: this.ops.calendars,
      now,
      window,
      channels: await this.simc.channels(),
      feed: this.feed,
      baseline: this.baseline,
      refused: new Set([...this.permanentChecks].filter(([, chk]) => hit(chk)).map(([c]) => c.id)),
    });
    this.result.divergences = divergences;
    this.result.events = events;
  }
}

function calendarPath(calendarId: string): string {
  return `/calendar/v3/calendars/${encodeURIComponent(calendarId)}`;
}

function eventsPath(calendarId: string): string {
  return `${calendarPath(calendarId)}/events`;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

export async function runHistory(
  world: PropertyWorld,
  history: History,
  opts: { trace?: (line: string) => void } = {},
): Promise<HistoryResult> {
  return new HistoryRun(world, history, opts.trace ?? (() => undefined)).run();
}
