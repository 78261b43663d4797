// One renewal run's shared state: the summary, the time budget, enqueuing (once per subscription) and paging a phase's queries.
import { randomUUID } from 'node:crypto';
import type { DocumentData, Query, QueryDocumentSnapshot } from '@google-cloud/firestore';
import { LOG_EVENTS } from '../log-events.js';
import type { ResyncMessage } from '../messages.js';
import { UserApis, type LifecycleDeps } from '../channels/deps.js';
import { countAfter, pagesOf } from '../store/subscriptions-query.js';
import type { Enqueuer } from './enqueue.js';
import { resyncMessage, rollMessage } from './enqueue.js';
import { sleep as realSleep } from '../calendar/backoff.js';
import { startPacer, type Pacer } from './pace.js';
import { runBounded } from './pool.js';

/** What the run needs to know of a phase while paging it. */
export interface PhaseRef {
  name: string;
  /** Work it leaves over only delays the occurrence view: counted in `rollsRemaining`. */
  deferrable?: boolean;
}

/** Pages a batching phase handles at once (eachPage) while the next page is read. */
const PAGES_IN_FLIGHT = 4;

export interface RenewalDeps extends LifecycleDeps {
  enqueuer: Enqueuer;
  /** Claim holder id of this run (default: random). Two overlapping runs must differ. */
  holderId?: string;
  /** Documents read per query page (default: max(100, 5 × concurrency)). */
  pageSize?: number;
  /** How the pacer waits (tests: a fake clock). */
  sleep?: (ms: number) => Promise<void>;
}

export interface RenewalSummary {
  /** Channels replaced ahead of expiry. */
  renewed: number;
  /** Missing, expired or silent channels re-created (each followed by a 'recovery' sync). */
  recovered: number;
  failed: { subscriptionId: string; reason: string }[];
  /** Syncs enqueued (recovery, poll, safety-net, connect, retry, stuck). */
  enqueued: number;
  /** Calendars in `error` whose backoff was due: a retry sync enqueued. */
  retried: number;
  /** Calendars whose lease ran out under a dead worker (or whose pending mark had no lease): re-enqueued. */
  unstuck: number;
  /** Candidates not examined because the time budget ran out (the next run picks them up). */
  remaining: number;
  /**
   * Daily rolls not queued because the budget ran out: the next run queues them. Only the
   * occurrence view's edges lag meanwhile (no channel lapses), so they are not in `remaining` and
   * raise no budget alert (decision 011).
   */
  rollsRemaining: number;
  /** Calendars switched to polling because they refuse push. */
  polling: number;
  needsReauth: number;
  removed: number;
  calendarLists: { reconciled: number; added: number; removed: number };
  /**
   * Calendars whose daily occurrence roll was handed to the worker (one `roll` message each, once
   * a UTC day, again only if the roll is still not done ROLL_REQUEST_RETRY_MS later; decision 011).
   */
  occurrenceRollsEnqueued: number;
  /**
   * Calendars found not synced within the safety-net period (or never, past the connect grace):
   * each got a sync enqueued; logged as `stale calendars` for the alert.
   */
  stale: number;
  durationMs: number;
}

export function emptySummary(): RenewalSummary {
  return {
    renewed: 0,
    recovered: 0,
    failed: [],
    enqueued: 0,
    retried: 0,
    unstuck: 0,
    remaining: 0,
    rollsRemaining: 0,
    polling: 0,
    needsReauth: 0,
    removed: 0,
    calendarLists: { reconciled: 0, added: 0, removed: 0 },
    occurrenceRollsEnqueued: 0,
    stale: 0,
    durationMs: 0,
  };
}

/** The state one renewal run shares between its phases. */
export class RenewalRun {
  readonly summary = emptySummary();
  readonly started: number;
  readonly holder: string;
  /** A claim must outlive one watch + store + stop, retries included; the store step re-checks it. */
  readonly claimMs: number;
  readonly apis: UserApis;
  /** Awaited before each step that calls Google (CALSYNC_RENEW_PER_SECOND, renewal/pace.ts). */
  readonly pace: Pacer;
  private readonly deadline: number;
  private readonly pageSize: number;
  private readonly enqueued = new Set<string>();

  constructor(readonly deps: RenewalDeps) {
    const { config } = deps;
    this.started = deps.now();
    this.deadline = this.started + config.renewTimeBudgetMs;
    this.holder = deps.holderId ?? `renewal:${randomUUID()}`;
    this.pageSize = deps.pageSize ?? Math.max(100, config.renewConcurrency * 5);
    this.claimMs = 2 * config.googleTimeoutMs + config.retryBudgetMs + 60_000;
    this.apis = new UserApis(deps);
    this.pace = startPacer(config.renewPerSecond, deps.now, deps.sleep ?? ((ms) => realSleep(ms)));
  }

  readonly expired = (): boolean => this.deps.now() >= this.deadline;

  fail(subscriptionId: string, reason: string): void {
    this.summary.failed.push({ subscriptionId, reason });
  }

  /** Enqueues one sync per subscription per run; false when it was not (already, or failed). */
  async enqueue(subscriptionId: string, reason: ResyncMessage['reason'], full = false) {
    if (this.enqueued.has(subscriptionId)) return false;
    this.enqueued.add(subscriptionId);
    try {
      await this.deps.enqueuer.enqueue(
        resyncMessage(subscriptionId, reason, this.deps.now(), full),
      );
      this.summary.enqueued++;
      return true;
    } catch (err) {
      this.enqueued.delete(subscriptionId);
      this.fail(
        subscriptionId,
        `enqueue ${reason}: ${err instanceof Error ? err.message : String(err)}`,
      );
      return false;
    }
  }

  /** Hands one calendar's daily roll to the worker; false when the publish failed (counted as failed). */
  async enqueueRoll(subscriptionId: string): Promise<boolean> {
    try {
      await this.deps.enqueuer.enqueue(rollMessage(subscriptionId, this.deps.now()));
      this.summary.occurrenceRollsEnqueued++;
      return true;
    } catch (err) {
      this.fail(
        subscriptionId,
        `enqueue roll: ${err instanceof Error ? err.message : String(err)}`,
      );
      return false;
    }
  }

  /** Pages through `query`, handling each document; false when the budget ran out (remaining counted). */
  async each<T extends DocumentData>(
    phase: PhaseRef,
    query: Query<T>,
    handle: (doc: QueryDocumentSnapshot<T>) => Promise<void>,
  ): Promise<boolean> {
    const { renewConcurrency } = this.deps.config;
    for await (const page of pagesOf(query, this.pageSize)) {
      const skipped = await runBounded(page, renewConcurrency, this.expired, handle);
      if (skipped > 0 || this.expired()) return this.budgetUsedUp(phase, query, page, skipped);
    }
    return true;
  }

  /**
   * Pages through `query`, handing each whole page to `handle` (a phase that batches its calls):
   * up to PAGES_IN_FLIGHT pages handled at once while the next is read; none started after the
   * budget ran out. `handle` reports its own failures (`fail`) and must not reject.
   */
  async eachPage<T extends DocumentData>(
    phase: PhaseRef,
    query: Query<T>,
    handle: (page: QueryDocumentSnapshot<T>[]) => Promise<void>,
  ): Promise<boolean> {
    const inFlight = new Set<Promise<void>>();
    for await (const page of pagesOf(query, this.pageSize)) {
      if (this.expired()) {
        await Promise.all(inFlight);
        return this.budgetUsedUp(phase, query, page, page.length);
      }
      const handled: Promise<void> = handle(page).finally(() => inFlight.delete(handled));
      inFlight.add(handled);
      if (inFlight.size >= PAGES_IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    return true;
  }

  /** Counts what `query` still holds after `page` (plus `skipped` of it) as left over; false. */
  private async budgetUsedUp<T extends DocumentData>(
    phase: PhaseRef,
    query: Query<T>,
    page: QueryDocumentSnapshot<T>[],
    skipped: number,
  ): Promise<false> {
    const last = page[page.length - 1];
    const rest = page.length === this.pageSize ? await countAfter(query, last) : 0;
    this.leftOver(phase, skipped + rest);
    return false;
  }

  /** Work the budget left for the next run: `remaining` (and the alert's line), or `rollsRemaining`. */
  leftOver(phase: PhaseRef, count: number): void {
    if (phase.deferrable) {
      this.summary.rollsRemaining += count;
      if (count === 0) return;
      this.deps.logger.info('occurrence rolls left for the next run', {
        phase: phase.name,
        remaining: count,
      });
      return;
    }
    this.summary.remaining += count;
    this.deps.logger.warn(LOG_EVENTS.renewalBudgetUsedUp.message, {
      phase: phase.name,
      remaining: count,
    });
  }
}
