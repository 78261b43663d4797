// The sync engine: runSync takes the calendar's lease and runs until nothing is pending — settle, list, apply under the fence, commit.
import { randomUUID } from 'node:crypto';
import type { CalendarApi } from '../calendar/api.js';
import { sleep as realSleep } from '../calendar/backoff.js';
import { announceChanges } from '../changes/announce.js';
import { ChangeSet } from '../changes/collect.js';
import { clearOutbox, collectOutbox, Outbox } from '../changes/outbox.js';
import { loadRefreshToken } from '../credentials/store.js';
import type { Logger } from '../log.js';
import { readCalendarDoc } from '../store/calendars.js';
import { countEvents, type CalendarRef } from '../store/events.js';
import {
  acquireLease,
  commitSync,
  finishCommit,
  releaseLease,
  type AcquireResult,
  type Trigger,
} from '../store/lease.js';
import type { SubscriptionDoc } from '../store/schema.js';
import type { SyncDeps } from './deps.js';
import type { RunContext } from './context.js';
import { NoCredentialsError, settleFailure } from './failure.js';
import { LeaseKeeper, LeaseLostError } from './lease-keeper.js';
import {
  addTotals,
  emptyTotals,
  syncOnce,
  type RunInput,
  type RunOutput,
  type SyncTotals,
} from './run.js';

export { LeaseLostError } from './lease-keeper.js';
export type { SyncTotals } from './run.js';

export interface RunSyncOptions {
  /** Drop the token and do a diffing full sync. */
  full?: boolean;
  /** What asked for this sync (logs): notification, safety-net, connect, ... */
  trigger?: string;
  /** The notification (channel, Google's message number) this sync answers: coalescing watermark. */
  notification?: { channelId: string; messageNumber: number };
  /** When the webhook received that notification (ms): the settle window counts from it. */
  receivedAt?: number;
  /** Publish time of a resync message (ms): skipped when a completed sync started after it. */
  publishedAt?: number;
  signal?: AbortSignal;
  /** Logger with message fields (messageId, ...); defaults to deps.logger. */
  logger?: Logger;
}

export type SyncOutcome =
  'synced' | 'busy' | 'covered' | 'missing' | 'inactive' | 'needs_reauth' | 'removed' | 'failed';

export interface SyncResult extends SyncTotals {
  outcome: SyncOutcome;
  /** Runs done under one lease (more than 1 when notifications arrived meanwhile). */
  runs: number;
  /** Whether any run was a full sync. */
  full: boolean;
}

/** Runs (listings, re-checks included) under one lease at most this many times before handing over via redelivery. */
const MAX_RUNS = 20;

const recheckMsOf = (deps: SyncDeps) => deps.config.recheckMs ?? 2_000;

function triggerOf(opts: RunSyncOptions): Trigger {
  return opts.notification
    ? {
        kind: 'notification',
        ...opts.notification,
        ...(opts.receivedAt !== undefined ? { receivedAt: opts.receivedAt } : {}),
      }
    : {
        kind: 'resync',
        full: opts.full === true,
        ...(opts.publishedAt !== undefined ? { publishedAt: opts.publishedAt } : {}),
      };
}

/**
 * Syncs one subscription: the worker calls it per message, the CLI's connect for the first full
 * sync. Resolves with an outcome for everything a retry would not fix; rejects (so Pub/Sub
 * redelivers) on rate limits, 5xx, timeouts, and a lost lease.
 */
export async function runSync(
  deps: SyncDeps,
  subscriptionId: string,
  opts: RunSyncOptions = {},
): Promise<SyncResult> {
  const now = deps.clock ?? Date.now;
  const logger = (opts.logger ?? deps.logger).child({ subscriptionId });
  const holder = `${deps.holderId ?? 'worker'}:${randomUUID()}`;
  const acquired = await acquireLease(deps.db, subscriptionId, {
    holder,
    now: now(),
    leaseMs: deps.config.leaseMs,
    clockSkewMs: deps.config.clockSkewMs,
    recheckMs: recheckMsOf(deps),
    trigger: triggerOf(opts),
  });
  if (acquired.kind !== 'acquired') {
    logger.info(`sync not started: ${acquired.kind}`, {
      outcome: acquired.kind,
      trigger: opts.trigger,
      ...(acquired.kind === 'inactive' ? { status: acquired.status } : {}),
    });
    return { outcome: acquired.kind, runs: 0, full: false, ...emptyTotals() };
  }
  return new SyncSession(deps, subscriptionId, acquired, opts, logger).run();
}

/** One lease, from acquisition to release: the runs done under it. */
class SyncSession {
  private readonly keeper: LeaseKeeper;
  private readonly sub: SubscriptionDoc;
  private readonly cal: CalendarRef;
  private readonly totals = emptyTotals();
  private readonly now: () => number;
  private api: CalendarApi | undefined;
  private runs = 0;
  private anyFull = false;
  private released = false;
  /** Notifications the previous listing answered (logged with its re-check). */
  private answered = 0;

  constructor(
    private readonly deps: SyncDeps,
    private readonly subscriptionId: string,
    acquired: Extract<AcquireResult, { kind: 'acquired' }>,
    private readonly opts: RunSyncOptions,
    private readonly logger: Logger,
  ) {
    this.now = deps.clock ?? Date.now;
    this.sub = acquired.sub;
    this.cal = { uid: this.sub.uid, calendarId: this.sub.calendarId };
    const expiresAt = acquired.sub.lease?.expiresAt.toMillis() ?? this.now() + deps.config.leaseMs;
    this.keeper = new LeaseKeeper(
      deps.db,
      acquired.lease,
      expiresAt,
      this.now,
      deps.config.leaseMs,
    );
  }

  private result(outcome: SyncOutcome): SyncResult {
    return { outcome, runs: this.runs, full: this.anyFull, ...this.totals };
  }

  async run(): Promise<SyncResult> {
    try {
      return this.result(await this.loop());
    } catch (err) {
      const f = {
        deps: this.deps,
        subscriptionId: this.subscriptionId,
        sub: this.sub,
        api: this.api,
        flushOutbox: () => this.flushOutbox(),
      };
      return this.result(await settleFailure({ ...f, logger: this.logger }, err));
    } finally {
      if (!this.released) {
        await releaseLease(this.deps.db, this.keeper.lease, this.now(), {
          why: 'sync ended',
        }).catch((err: unknown) =>
          this.logger.warn('lease release failed; it will expire', { error: err }),
        );
      }
    }
  }

  private async loop(): Promise<SyncOutcome> {
    const { deps } = this;
    // Contract C: the subscription's Google account; an unbound (legacy) one is bound on first use.
    const refreshToken = await loadRefreshToken(deps.db, deps.config.tokenKeys, {
      uid: this.sub.uid,
      accountId: this.sub.accountId ?? null,
      subscriptionId: this.subscriptionId,
    });
    if (refreshToken === null) {
      throw new NoCredentialsError();
    }
    this.api = deps.calendarApi(refreshToken, {
      retryBudgetMs: deps.config.retryBudgetMs,
      ...deps.apiOptions,
    });
    const stored = await readCalendarDoc(deps.db, this.sub.uid, this.sub.calendarId);
    let input: RunInput = {
      full: this.opts.full === true || this.sub.fullSyncRequested === true || !this.sub.syncToken,
      syncToken: this.sub.syncToken,
      timeZone: stored?.timeZone ?? undefined,
      zoneDirty: this.sub.allDayZoneDirty === true,
      changes: this.changeSet(),
    };
    for (;;) {
      this.runs++;
      const { run, again } = await this.oneRun(input);
      if (!again) return 'synced';
      // Something arrived during the run: one more incremental (or requested full) pass.
      input = {
        full: again.full,
        syncToken: run.syncToken,
        timeZone: run.timeZone ?? input.timeZone,
        changes: this.changeSet(),
      };
      if (this.runs >= MAX_RUNS) {
        this.released = true;
        await releaseLease(deps.db, this.keeper.lease, this.now(), {
          pending: true,
          why: 'handed over',
        });
        throw new Error(
          `re-requested ${this.runs} times in a row; handing over through redelivery`,
        );
      }
    }
  }

  /** A run's change set: without a change feed only its counts are kept (flat memory). */
  private changeSet(): ChangeSet {
    return new ChangeSet({ retain: this.deps.changes !== undefined });
  }

  /** Waits until the listing is due (settle, interval, re-check), lists, applies, commits. */
  private async oneRun(input: RunInput): Promise<{ run: RunOutput; again?: { full: boolean } }> {
    const begun = await this.beginWhenDue();
    const started = this.now();
    const ctx = this.context();
    const full = input.full || begun.fullRequested;
    const run = await syncOnce(ctx, { ...input, full });
    if (begun.recheck) {
      this.logger.info('re-checked the delta', {
        notified: this.answered,
        found: run.totals.items,
      });
    }
    this.answered = begun.notified;
    this.anyFull ||= run.full;
    addTotals(this.totals, run.totals);
    // With a change feed the lease is kept through the publish: a later run (of any worker) cannot
    // announce a newer version before this one's announcement is out (per-calendar order).
    const feed = this.deps.changes !== undefined;
    const commit = await this.commit(run, feed);
    if (commit.kind === 'lost') throw new LeaseLostError(this.subscriptionId);
    // The change feed: only now that the token (and so every page before it) is committed.
    const announced = feed ? await this.announce(run.pass.changes) : 0;
    const { leaseMs } = this.deps.config;
    const settled =
      commit.kind === 'kept'
        ? await finishCommit(this.deps.db, this.keeper.lease, this.now(), leaseMs, this.recheckMs)
        : commit;
    this.released = settled.kind !== 'again';
    this.logRun(run, started, announced, begun.recheck);
    return settled.kind === 'again' ? { run, again: { full: settled.full } } : { run };
  }

  /**
   * Publishes the run's changes with whatever a crashed run left in the outbox (merged per event),
   * then clears the outbox. A publish failure is logged, and the outbox kept for the next run.
   */
  private async announce(changes: ChangeSet): Promise<number> {
    const { db } = this.deps;
    const waiting = await collectOutbox(db, this.cal, this.subscriptionId, changes);
    const announced = await announceChanges(
      this.deps.changes,
      changes,
      { ...this.cal, fence: this.keeper.lease.fence },
      this.logger,
    );
    if (announced.ok && waiting.length > 0) {
      await clearOutbox(db, this.keeper.fence, waiting).catch((err: unknown) =>
        this.logger.warn('outbox not cleared; its changes will be announced again', { error: err }),
      );
    }
    return announced.count;
  }

  /**
   * On a failure no run will commit after soon (a permanent refusal, a re-authorisation): what
   * crashed runs left in the outbox is announced now, as the mirror holds it, under this lease
   * (checked first). Best effort: what fails stays in the outbox for the next commit.
   */
  private async flushOutbox(): Promise<void> {
    if (!this.deps.changes) return;
    try {
      await this.keeper.ensure();
      const count = await this.announce(this.changeSet());
      if (count > 0) {
        this.logger.info('announced the changes a crashed run left in the outbox', {
          changesAnnounced: count,
        });
      }
    } catch (err) {
      this.logger.warn('outbox not announced; the next commit will', { error: err });
    }
  }

  private context(): RunContext {
    // Outbox ids sort by run: the listing's start, then the fence.
    const runId = `${String(this.now()).padStart(15, '0')}-${this.keeper.lease.fence}-${this.runs}`;
    return {
      deps: this.deps,
      api: this.api!,
      cal: this.cal,
      keeper: this.keeper,
      logger: this.logger,
      ...(this.opts.signal ? { signal: this.opts.signal } : {}),
      ...(this.deps.changes ? { outbox: new Outbox(this.deps.db, this.keeper.fence, runId) } : {}),
    };
  }

  private async commit(run: RunOutput, keepLease: boolean) {
    // A first sync knows its counts (it wrote all there is); otherwise aggregation queries.
    const counts =
      run.pass.eventCounts(run.totals.quarantined) ?? (await countEvents(this.deps.db, this.cal));
    return commitSync(this.deps.db, this.keeper.lease, {
      keepLease,
      syncToken: run.syncToken,
      fullSyncTimeMin: run.timeMin ?? null,
      full: run.full,
      now: this.now(),
      leaseMs: this.deps.config.leaseMs,
      recheckMs: this.recheckMs,
      stats: { pages: run.totals.pages, items: run.totals.items, writes: run.totals.writes },
      calendar: {
        counts: { events: counts.events, tombstones: counts.tombstones },
        quarantined: counts.quarantined,
        ...(run.timeZone ? { timeZone: run.timeZone } : {}),
        ...(run.summary ? { summary: run.summary } : {}),
      },
    });
  }

  private get recheckMs(): number {
    return recheckMsOf(this.deps);
  }

  /**
   * Begins the listing once it is due, as decided on the subscription at that moment (a message
   * arriving meanwhile can move it): pauses renew the lease, so a long wait never outlives it.
   */
  private async beginWhenDue(): Promise<{
    fullRequested: boolean;
    notified: number;
    recheck: boolean;
  }> {
    let recheck = false;
    const due = (sub: SubscriptionDoc) => {
      const d = this.due(sub);
      recheck = d.recheck;
      return d.at;
    };
    for (;;) {
      const begun = await this.keeper.begin(due);
      if (begun.kind === 'begun') return { ...begun, recheck };
      const wait = Math.min(begun.until - this.now(), this.deps.config.leaseMs / 3);
      if (wait > 0) await this.pause(wait);
    }
  }

  /**
   * When the next listing may begin (decision 007): at least the minimum interval after the
   * previous one; for new notifications (`urgentAt`), the settle window from the newest one, at
   * most twice the window after the first; otherwise, if a notification's visibility lag is still
   * owed, the re-check, CALSYNC_RECHECK_MS after the newest receipt (stragglers of the previous
   * listing move it until they stop; their receipt is bounded by the webhook's plus the margin).
   */
  private due(sub: SubscriptionDoc): { at: number; recheck: boolean } {
    const { config } = this.deps;
    const settle = config.settleMs ?? 300;
    const last = sub.lastListStartedAt?.toMillis() ?? 0;
    const spaced = last + (config.minSyncIntervalMs ?? 1_000);
    const urgent = sub.urgentAt?.toMillis();
    const newest = sub.newestReceiptAt?.toMillis();
    if (urgent !== undefined) {
      const settled = Math.min(Math.max(newest ?? urgent, urgent) + settle, urgent + 2 * settle);
      return { at: Math.max(spaced, settled), recheck: false };
    }
    if (newest !== undefined && this.recheckMs > 0 && newest + this.recheckMs > last) {
      return { at: Math.max(spaced, newest + this.recheckMs), recheck: true };
    }
    return { at: spaced, recheck: false };
  }

  private async pause(ms: number): Promise<void> {
    await (this.deps.sleep ?? realSleep)(ms, this.opts.signal);
    await this.keeper.ensure();
  }

  private logRun(run: RunOutput, started: number, announced: number, recheck: boolean): void {
    this.logger.info('sync', {
      event: 'sync',
      outcome: 'synced',
      trigger: this.opts.trigger,
      run: this.runs,
      // A run that only re-checks the previous one's delta for Google's visibility lag.
      recheck,
      full: run.full,
      ...run.totals,
      occurrenceWrites: run.pass.occurrences.writes,
      occurrenceDeletes: run.pass.occurrences.deletes,
      occurrenceReads: run.pass.occurrences.reads,
      occurrenceQueries: run.pass.occurrences.queries,
      changesAnnounced: announced,
      durationMs: this.now() - started,
      ...(this.opts.receivedAt !== undefined && this.runs === 1
        ? { lagMs: this.now() - this.opts.receivedAt }
        : {}),
    });
  }
}
