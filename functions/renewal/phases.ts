// The renewal run's phases as named steps: each names its queries and what it does with one document.
import { Timestamp, type Query, type QueryDocumentSnapshot } from '@google-cloud/firestore';
import { ensureCalendarListWatch, reconcileCalendarList } from '../channels/calendar-list.js';
import { RECOVERY_NEEDS } from '../channels/decide.js';
import { ensureSubscriptionChannel, needOf } from '../channels/ensure.js';
import { utcDayStart } from '../occurrences/model.js';
import {
  activeCalendarListWatches,
  type CalendarListWatchDoc,
} from '../store/calendar-list-watches.js';
import type { SubscriptionDoc } from '../store/schema.js';
import {
  dueRetries,
  expiredLeases,
  expiringChannels,
  missingChannels,
  neverSynced,
  occurrencesNeverRolled,
  occurrencesRolledBefore,
  pendingWithoutLease,
  pollingSubscriptions,
  quietSince,
  syncedBefore,
} from '../store/subscriptions-query.js';
import type { PhaseRef, RenewalRun } from './run.js';

type AnyDoc = SubscriptionDoc | CalendarListWatchDoc;

/**
 * One step of the run: the queries it pages through (in order) and what it does per document —
 * or per page of documents, for a phase that batches its calls.
 */
export type Phase = PhaseRef & {
  queries(run: RenewalRun, now: number): Query<AnyDoc>[];
} & (
    | {
        handle(run: RenewalRun, doc: QueryDocumentSnapshot<AnyDoc>, now: number): Promise<void>;
        handlePage?: undefined;
      }
    | {
        handlePage(
          run: RenewalRun,
          docs: QueryDocumentSnapshot<AnyDoc>[],
          now: number,
        ): Promise<void>;
        handle?: undefined;
      }
  );

const asSub = (d: QueryDocumentSnapshot<AnyDoc>) => d as QueryDocumentSnapshot<SubscriptionDoc>;
const HOUR = 3_600_000;

/** Renew or recover one subscription's channel and count what happened. */
async function ensureChannel(run: RenewalRun, d: QueryDocumentSnapshot<SubscriptionDoc>) {
  const outcome = await ensureSubscriptionChannel(
    run.deps,
    d.id,
    { holder: run.holder, claimMs: run.claimMs, apis: run.apis, pace: run.pace },
    d,
  );
  const s = run.summary;
  switch (outcome.kind) {
    case 'rotated':
      if (!RECOVERY_NEEDS.has(outcome.need)) {
        s.renewed++;
        return;
      }
      // Changes may have been missed while there was no live channel.
      s.recovered++;
      await run.enqueue(d.id, 'recovery');
      return;
    case 'polling':
      s.polling++;
      await run.enqueue(d.id, 'poll');
      return;
    case 'needs_reauth':
      s.needsReauth++;
      run.fail(d.id, `needs_reauth: ${outcome.message}`);
      return;
    case 'removed':
      s.removed++;
      return;
    case 'failed':
      run.fail(d.id, outcome.reason);
      return;
    case 'skipped':
      return;
  }
}

/** Channels expiring within the window get their successor first (`error` calendars too). */
const renewExpiring: Phase = {
  name: 'expiring',
  queries: (run, now) => [expiringChannels(run.deps.db, now + run.deps.config.renewWindowMs)],
  handle: (run, d) => ensureChannel(run, asSub(d)),
};

/** Push calendars with no channel at all. */
const recoverMissing: Phase = {
  name: 'missing',
  queries: (run) => [missingChannels(run.deps.db)],
  handle: (run, d) => ensureChannel(run, asSub(d)),
};

/** A lease that ran out under a dead worker, or a pending mark no lease will honour: sync again. */
const recoverStuck: Phase = {
  name: 'stuck',
  queries: (run, now) => [
    expiredLeases(run.deps.db, now - run.deps.config.leaseMs),
    pendingWithoutLease(run.deps.db),
  ],
  async handle(run, d) {
    if (await run.enqueue(d.id, 'stuck')) run.summary.unstuck++;
  },
};

/** `error` calendars whose backoff is due. */
const retryErrors: Phase = {
  name: 'retry',
  queries: (run, now) => [dueRetries(run.deps.db, now)],
  async handle(run, d) {
    if (await run.enqueue(d.id, 'retry')) run.summary.retried++;
  },
};

/** Channels silent for too long although they once delivered. */
const recoverSilent: Phase = {
  name: 'silent',
  queries: (run, now) => [quietSince(run.deps.db, now - run.deps.config.silentChannelMs)],
  async handle(run, d) {
    if (needOf(asSub(d).data(), run.deps.now(), run.deps) === 'silent')
      await ensureChannel(run, asSub(d));
  },
};

/** Polling-mode calendars sync on every run. */
const pollCalendars: Phase = {
  name: 'poll',
  queries: (run) => [pollingSubscriptions(run.deps.db)],
  handle: async (run, d) => void (await run.enqueue(d.id, 'poll')),
};

/**
 * Google drops a share of notifications: calendars not synced within the safety-net period get
 * an incremental sync. A calendar never synced gets a short grace (it may be connecting now).
 */
const safetyNet: Phase = {
  name: 'safety-net',
  queries: (run, now) => [
    syncedBefore(run.deps.db, now - run.deps.config.safetyNetMs),
    neverSynced(run.deps.db),
  ],
  async handle(run, d, now) {
    const sub = asSub(d).data();
    if (sub.lastSyncedAt === null) {
      const grace = Math.max(10 * 60_000, 2 * run.deps.config.leaseMs);
      if (sub.createdAt.toMillis() >= now - grace) return;
      run.summary.stale++;
      await run.enqueue(d.id, 'connect', true);
      return;
    }
    run.summary.stale++;
    await run.enqueue(d.id, 'safety-net');
  },
};

/** `connect --all` users: their calendar-list channel renewed, their list reconciled. */
const calendarLists: Phase = {
  name: 'calendar-lists',
  queries: (run) => [activeCalendarListWatches(run.deps.db)],
  async handle(run, d) {
    const w = d.data() as CalendarListWatchDoc;
    // Each Google account's list is its own (issue 15.1): the watch's account, not just the user.
    const owner = { uid: w.uid, accountId: w.accountId ?? null };
    const o = { holder: run.holder, claimMs: run.claimMs, apis: run.apis };
    await run.pace();
    const watch = await ensureCalendarListWatch(run.deps, owner, o);
    if (watch.kind === 'needs_reauth' || watch.kind === 'failed') {
      run.fail(d.id, `calendar list watch: ${watch.reason}`);
      if (watch.kind === 'needs_reauth') return;
    }
    try {
      const r = await reconcileCalendarList(run.deps, owner, {
        ...o,
        onConnected: async (subscriptionId) =>
          void (await run.enqueue(subscriptionId, 'connect', true)),
      });
      const lists = run.summary.calendarLists;
      lists.reconciled++;
      lists.added += r.added.length;
      lists.removed += r.removed.length;
    } catch (err) {
      run.fail(
        d.id,
        `calendar list reconcile: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  },
};

/**
 * A roll requested this long ago and still not done is requested again: its message was
 * dead-lettered (the worker failed it on every delivery) or lost with a failed publish.
 */
export const ROLL_REQUEST_RETRY_MS = 2 * HOUR;

/**
 * The occurrence view's daily step, fanned out (decision 011): one `roll` message per kept calendar
 * not rolled this UTC day, handled by the worker (`rollSubscriptionWindow`). A page at a time: its
 * messages published together (the client batches them) and its request marks in one batch write,
 * so the run's cost per calendar is a share of a few calls, not the roll's reads and writes. The
 * marks let the next hourly runs leave a queued roll alone.
 */
const rollOccurrenceWindows: Phase = {
  name: 'occurrence-window',
  deferrable: true,
  queries: (run, now) =>
    [
      occurrencesRolledBefore(run.deps.db, utcDayStart(now)),
      occurrencesNeverRolled(run.deps.db),
    ].map(
      // Only what queueRolls reads and the cursor's order field, not whole subscriptions.
      (q) => q.select(...ROLL_FIELDS) as Query<SubscriptionDoc>,
    ),
  handlePage: queueRolls,
};

const ROLL_FIELDS = ['status', 'occurrencesRolledAt', 'occurrencesRollRequestedAt'] as const;

/** Whether a roll is already queued for this calendar (today, recently enough to still be coming). */
function rollQueued(sub: SubscriptionDoc, now: number): boolean {
  const requested = sub.occurrencesRollRequestedAt?.toMillis() ?? null;
  return (
    requested !== null && requested >= utcDayStart(now) && now - requested < ROLL_REQUEST_RETRY_MS
  );
}

async function queueRolls(run: RenewalRun, docs: QueryDocumentSnapshot<AnyDoc>[], now: number) {
  const due = docs.map(asSub).filter((d) => {
    const sub = d.data();
    return sub.status !== 'removed' && !rollQueued(sub, now);
  });
  const queued = await Promise.all(
    due.map(async (d) => ((await run.enqueueRoll(d.id)) ? d : undefined)),
  );
  const at = Timestamp.fromMillis(run.deps.now());
  await markEach(
    run,
    queued.filter((d) => d !== undefined),
    { occurrencesRollRequestedAt: at },
  );
}

/**
 * One batch write per 500 documents; a batch refused (a subscription deleted meanwhile fails the
 * whole batch) is retried one update at a time. A mark that still fails only means the next run
 * queues that roll again (one read for the worker), so it is logged, not reported as failed.
 */
async function markEach(
  run: RenewalRun,
  docs: QueryDocumentSnapshot<SubscriptionDoc>[],
  fields: Partial<SubscriptionDoc>,
): Promise<void> {
  const { db, logger } = run.deps;
  for (let i = 0; i < docs.length; i += 500) {
    const chunk = docs.slice(i, i + 500);
    const batch = db.batch();
    for (const d of chunk) batch.update(d.ref, fields);
    try {
      await batch.commit();
    } catch {
      for (const d of chunk) {
        await d.ref.update(fields).catch((err: unknown) => {
          logger.warn('could not record the roll request', { subscriptionId: d.id, error: err });
        });
      }
    }
  }
}

/**
 * In order of what a lapse costs: channels about to expire first, then recoveries, retries and
 * the cheap enqueue-only steps, the calendar-list reconciles, and the daily occurrence roll last.
 */
export const PHASES: readonly Phase[] = [
  renewExpiring,
  recoverMissing,
  recoverStuck,
  retryErrors,
  recoverSilent,
  pollCalendars,
  safetyNet,
  calendarLists,
  rollOccurrenceWindows,
];
