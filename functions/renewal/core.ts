// renewChannelsCore: one renewal run — renew expiring channels, recover lost ones, reconcile calendar lists, enqueue poll and safety-net syncs.
import { randomUUID } from 'node:crypto';
import { Timestamp, type Query, type QueryDocumentSnapshot } from '@google-cloud/firestore';
import { ensureCalendarListWatch, reconcileCalendarList } from '../channels/calendar-list.js';
import { RECOVERY_NEEDS } from '../channels/decide.js';
import { UserApis, type LifecycleDeps } from '../channels/deps.js';
import { ensureSubscriptionChannel, needOf } from '../channels/ensure.js';
import type { ResyncMessage } from '../messages.js';
import { rollOccurrenceWindow } from '../occurrences/roll.js';
import {
  activeCalendarListWatches,
  type CalendarListWatchDoc,
} from '../store/calendar-list-watches.js';
import type { SubscriptionDoc } from '../store/schema.js';
import {
  countAfter,
  expiringChannels,
  missingChannels,
  neverSynced,
  occurrencesNeverRolled,
  occurrencesRolledBefore,
  pagesOf,
  pollingSubscriptions,
  quietSince,
  syncedBefore,
} from '../store/subscriptions-query.js';
import type { Enqueuer } from './enqueue.js';
import { resyncMessage } from './enqueue.js';
import { runBounded } from './pool.js';

export interface RenewalDeps extends LifecycleDeps {
  enqueuer: Enqueuer;
  /** Claim holder id of this run (default: random). Two overlapping runs must differ. */
  holderId?: string;
  /** Documents read per query page (default: max(100, 5 × concurrency)). */
  pageSize?: number;
}

export interface RenewalSummary {
  /** Channels replaced ahead of expiry. */
  renewed: number;
  /** Missing, expired or silent channels re-created (each followed by a 'recovery' sync). */
  recovered: number;
  failed: { subscriptionId: string; reason: string }[];
  /** Syncs enqueued (recovery, poll, safety-net, connect). */
  enqueued: number;
  /** Candidates not examined because the time budget ran out (the next run picks them up). */
  remaining: number;
  /** Calendars switched to polling because they refuse push. */
  polling: number;
  needsReauth: number;
  removed: number;
  calendarLists: { reconciled: number; added: number; removed: number };
  /** Calendars whose occurrence window was rolled forward (once a UTC day each). */
  occurrenceWindowsRolled: number;
  durationMs: number;
}

type Phase =
  | 'expiring'
  | 'missing'
  | 'silent'
  | 'calendar-lists'
  | 'poll'
  | 'safety-net'
  | 'occurrence-window';

/** One renewal run. Never throws for a single subscription's failure; reports it in `failed`. */
export async function renewChannelsCore(deps: RenewalDeps): Promise<RenewalSummary> {
  const { db, config, logger } = deps;
  const started = deps.now();
  const deadline = started + config.renewTimeBudgetMs;
  const expired = () => deps.now() >= deadline;
  const holder = deps.holderId ?? `renewal:${randomUUID()}`;
  const pageSize = deps.pageSize ?? Math.max(100, config.renewConcurrency * 5);
  // A claim must outlive one watch + store + stop, retries included; the store step re-checks it.
  const claimMs = 2 * config.googleTimeoutMs + config.retryBudgetMs + 60_000;
  const apis = new UserApis(deps);
  const enqueued = new Set<string>();
  const summary: RenewalSummary = {
    renewed: 0,
    recovered: 0,
    failed: [],
    enqueued: 0,
    remaining: 0,
    polling: 0,
    needsReauth: 0,
    removed: 0,
    calendarLists: { reconciled: 0, added: 0, removed: 0 },
    occurrenceWindowsRolled: 0,
    durationMs: 0,
  };
  const fail = (subscriptionId: string, reason: string) =>
    summary.failed.push({ subscriptionId, reason });

  const enqueue = async (subscriptionId: string, reason: ResyncMessage['reason'], full = false) => {
    if (enqueued.has(subscriptionId)) return;
    enqueued.add(subscriptionId);
    try {
      await deps.enqueuer.enqueue(resyncMessage(subscriptionId, reason, deps.now(), full));
      summary.enqueued++;
    } catch (err) {
      enqueued.delete(subscriptionId);
      fail(
        subscriptionId,
        `enqueue ${reason}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  };

  const renewOne = async (subscriptionId: string, seen: QueryDocumentSnapshot) => {
    const outcome = await ensureSubscriptionChannel(
      deps,
      subscriptionId,
      { holder, claimMs, apis },
      seen,
    );
    switch (outcome.kind) {
      case 'rotated':
        if (RECOVERY_NEEDS.has(outcome.need)) {
          summary.recovered++;
          await enqueue(subscriptionId, 'recovery');
        } else {
          summary.renewed++;
        }
        return;
      case 'polling':
        summary.polling++;
        await enqueue(subscriptionId, 'poll');
        return;
      case 'needs_reauth':
        summary.needsReauth++;
        fail(subscriptionId, `needs_reauth: ${outcome.message}`);
        return;
      case 'removed':
        summary.removed++;
        return;
      case 'failed':
        fail(subscriptionId, outcome.reason);
        return;
      case 'skipped':
        return;
    }
  };

  /** Pages through `query`, handling each document; false when the budget ran out (remaining counted). */
  const phase = async <T extends SubscriptionDoc | CalendarListWatchDoc>(
    name: Phase,
    query: Query<T>,
    handle: (doc: QueryDocumentSnapshot<T>) => Promise<void>,
  ): Promise<boolean> => {
    for await (const page of pagesOf(query, pageSize)) {
      const skipped = await runBounded(page, config.renewConcurrency, expired, handle);
      if (skipped > 0 || expired()) {
        const rest = page.length === pageSize ? await countAfter(query, page[page.length - 1]) : 0;
        summary.remaining += skipped + rest;
        logger.warn('renewal time budget used up', { phase: name, remaining: skipped + rest });
        return false;
      }
    }
    return true;
  };

  const now = started;
  const dayStart = now - (now % 86_400_000);
  const rollOne = async (d: QueryDocumentSnapshot<SubscriptionDoc>) => {
    const sub = d.data();
    if (sub.status !== 'active') return;
    try {
      await rollOccurrenceWindow(db, sub.uid, sub.calendarId, deps.now(), {
        daysBack: config.occurrenceDaysBack,
        daysAhead: config.occurrenceDaysAhead,
      });
      await d.ref.update({ occurrencesRolledAt: Timestamp.fromMillis(deps.now()) });
      summary.occurrenceWindowsRolled++;
    } catch (err) {
      fail(d.id, `occurrence window: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const phases: [Phase, () => Promise<boolean>, Query<SubscriptionDoc | CalendarListWatchDoc>[]][] =
    [
      [
        'expiring',
        () =>
          phase('expiring', expiringChannels(db, now + config.renewWindowMs), (d) =>
            renewOne(d.id, d),
          ),
        [expiringChannels(db, now + config.renewWindowMs)],
      ],
      [
        'missing',
        () => phase('missing', missingChannels(db), (d) => renewOne(d.id, d)),
        [missingChannels(db)],
      ],
      [
        'silent',
        () =>
          phase('silent', quietSince(db, now - config.silentChannelMs), async (d) => {
            if (needOf(d.data(), deps.now(), deps) === 'silent') await renewOne(d.id, d);
          }),
        [quietSince(db, now - config.silentChannelMs)],
      ],
      [
        'calendar-lists',
        () =>
          phase('calendar-lists', activeCalendarListWatches(db), async (d) => {
            const owner = { uid: d.data().uid, accountId: d.data().accountId ?? null };
            const watch = await ensureCalendarListWatch(deps, owner, { holder, claimMs, apis });
            if (watch.kind === 'needs_reauth' || watch.kind === 'failed') {
              fail(d.id, `calendar list watch: ${watch.reason}`);
              if (watch.kind === 'needs_reauth') return;
            }
            try {
              const r = await reconcileCalendarList(deps, owner, {
                holder,
                claimMs,
                apis,
                onConnected: (subscriptionId) => enqueue(subscriptionId, 'connect', true),
              });
              summary.calendarLists.reconciled++;
              summary.calendarLists.added += r.added.length;
              summary.calendarLists.removed += r.removed.length;
            } catch (err) {
              fail(
                d.id,
                `calendar list reconcile: ${err instanceof Error ? err.message : String(err)}`,
              );
            }
          }),
        [activeCalendarListWatches(db)],
      ],
      [
        'poll',
        () => phase('poll', pollingSubscriptions(db), (d) => enqueue(d.id, 'poll')),
        [pollingSubscriptions(db)],
      ],
      [
        'safety-net',
        async () =>
          (await phase('safety-net', syncedBefore(db, now - config.safetyNetMs), (d) =>
            enqueue(d.id, 'safety-net'),
          )) &&
          phase('safety-net', neverSynced(db), async (d) => {
            // A subscription being connected right now has not synced yet either: give it the same grace.
            if (d.data().createdAt.toMillis() < now - config.safetyNetMs) {
              await enqueue(d.id, 'safety-net');
            }
          }),
        [syncedBefore(db, now - config.safetyNetMs)],
      ],
      [
        // The daily step of the occurrence view: once per UTC day per active calendar.
        'occurrence-window',
        async () =>
          (await phase('occurrence-window', occurrencesRolledBefore(db, dayStart), rollOne)) &&
          phase('occurrence-window', occurrencesNeverRolled(db), rollOne),
        [occurrencesRolledBefore(db, dayStart), occurrencesNeverRolled(db)],
      ],
    ];

  for (let i = 0; i < phases.length; i++) {
    const [, run] = phases[i]!;
    if (!(await run())) {
      // Phases never started: everything they would have looked at remains.
      for (const [, , queries] of phases.slice(i + 1)) {
        for (const q of queries) summary.remaining += await countAfter(q, undefined);
      }
      break;
    }
  }
  summary.durationMs = deps.now() - started;
  logger.info('renewChannels summary', {
    summary: { ...summary, failed: summary.failed.slice(0, 50) },
  });
  return summary;
}
