// The sync engine: runSync takes the lease, fetches the delta (or a diffing full sync) page by page, commits the token with fencing.
import { randomUUID } from 'node:crypto';
import type { CalendarApi, EventsPage } from '../calendar/api.js';
import { CalendarError, classifyGoogleError } from '../calendar/errors.js';
import { announceChanges } from '../changes/announce.js';
import { ChangeSet } from '../changes/collect.js';
import { durations } from '../config.js';
import { loadRefreshToken, markRevoked } from '../credentials/store.js';
import type { Logger } from '../log.js';
import { SyncPass, windowFor } from '../occurrences/pass.js';
import { readCalendarDoc, updateCalendarStatus } from '../store/calendars.js';
import {
  countEvents,
  hasStoredEvents,
  readEventStates,
  sweepUnseen,
  type CalendarRef,
} from '../store/events.js';
import { encodeDocId, type SubscriptionDoc } from '../store/schema.js';
import {
  acquireLease,
  commitSync,
  recordSubscriptionError,
  releaseLease,
  renewLease,
  setSubscriptionStatus,
  type HeldLease,
} from '../store/subscriptions.js';
import { planPage } from './apply.js';
import type { SyncDeps } from './deps.js';
import { markCalendarRemoved } from './remove.js';

export interface RunSyncOptions {
  /** Drop the token and do a diffing full sync. */
  full?: boolean;
  /** What asked for this sync (logs): notification, safety-net, connect, ... */
  trigger?: string;
  /** Publish time of the triggering message (ms): skipped when an already completed sync covers it. */
  publishedAt?: number;
  /**
   * Pub/Sub's publishTime of the triggering message (ms): the coalescing watermark's clock. Every
   * message of the topic is stamped by the same service, so comparing two needs no skew margin.
   */
  watermark?: number;
  signal?: AbortSignal;
  /** Logger with message fields (messageId, ...); defaults to deps.logger. */
  logger?: Logger;
}

export type SyncOutcome =
  'synced' | 'busy' | 'covered' | 'missing' | 'inactive' | 'needs_reauth' | 'removed' | 'failed';

export interface SyncTotals {
  pages: number;
  items: number;
  writes: number;
  deletes: number;
  skipped: number;
}

export interface SyncResult extends SyncTotals {
  outcome: SyncOutcome;
  /** Runs done under one lease (more than 1 when notifications arrived meanwhile). */
  runs: number;
  /** Whether any run was a full sync. */
  full: boolean;
}

/** The fence moved under us: another worker took over after our lease expired. */
export class LeaseLostError extends Error {
  constructor(subscriptionId: string) {
    super(`lease on ${subscriptionId} was taken over; nothing committed`);
    this.name = 'LeaseLostError';
  }
}

/** Runs under one lease at most this many times before handing over via redelivery. */
const MAX_RUNS = 10;

const emptyTotals = (): SyncTotals => ({ pages: 0, items: 0, writes: 0, deletes: 0, skipped: 0 });

/**
 * Syncs one subscription: the worker calls it per message, the CLI's connect for the first full
 * sync. Resolves with an outcome for everything a retry would not fix; rejects (so Pub/Sub
 * redelivers) on rate limits, 5xx, timeouts beyond the budget, and a lost lease.
 */
export async function runSync(
  deps: SyncDeps,
  subscriptionId: string,
  opts: RunSyncOptions = {},
): Promise<SyncResult> {
  const now = deps.clock ?? Date.now;
  const logger = (opts.logger ?? deps.logger).child({ subscriptionId });
  const holder = `${deps.holderId ?? 'worker'}:${randomUUID()}`;
  const totals = emptyTotals();
  const result = (outcome: SyncOutcome, runs = 0, full = false): SyncResult => ({
    outcome,
    runs,
    full,
    ...totals,
  });

  const acquired = await acquireLease(deps.db, subscriptionId, {
    holder,
    now: now(),
    leaseMs: deps.config.leaseMs,
    clockSkewMs: deps.config.clockSkewMs,
    ...(opts.publishedAt !== undefined ? { publishedAt: opts.publishedAt } : {}),
    ...(opts.watermark !== undefined ? { watermark: opts.watermark } : {}),
    ...(opts.full ? { full: true } : {}),
  });
  if (acquired.kind !== 'acquired') {
    logger.info(`sync not started: ${acquired.kind}`, {
      outcome: acquired.kind,
      trigger: opts.trigger,
      ...(acquired.kind === 'inactive' ? { status: acquired.status } : {}),
    });
    return result(acquired.kind);
  }

  const { sub } = acquired;
  let lease: HeldLease | undefined = acquired.lease;
  const cal: CalendarRef = { uid: sub.uid, calendarId: sub.calendarId };
  let api: CalendarApi | undefined;
  let runs = 0;
  let anyFull = false;
  try {
    const refreshToken = await loadRefreshToken(deps.db, deps.config.tokenKeys, sub.uid);
    if (refreshToken === null) {
      await markNeedsReauth(deps, subscriptionId, sub, 'no usable refresh token stored', logger);
      return result('needs_reauth');
    }
    api = deps.calendarApi(refreshToken, {
      retryBudgetMs: deps.config.retryBudgetMs,
      ...deps.apiOptions,
    });
    const calendarDoc = await readCalendarDoc(deps.db, sub.uid, sub.calendarId);
    let timeZone = calendarDoc?.timeZone ?? undefined;
    let syncToken = sub.syncToken;
    let full = opts.full === true || sub.fullSyncRequested === true || !syncToken;

    for (;;) {
      runs++;
      const started = now();
      const run = await syncOnce(deps, api, cal, lease, {
        full,
        syncToken,
        timeZone,
        logger,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      anyFull ||= run.full;
      timeZone = run.timeZone ?? timeZone;
      for (const k of Object.keys(totals) as (keyof SyncTotals)[]) totals[k] += run.totals[k];

      const commit = await commitSync(deps.db, lease, {
        syncToken: run.syncToken,
        fullSyncTimeMin: run.timeMin ?? null,
        full: run.full,
        startedAt: run.startedAt,
        now: now(),
        leaseMs: deps.config.leaseMs,
        stats: { pages: run.totals.pages, items: run.totals.items, writes: run.totals.writes },
      });
      if (commit.kind === 'lost') {
        lease = undefined;
        throw new LeaseLostError(subscriptionId);
      }
      // The change feed: only now that the token (and so every page before it) is committed.
      const announced = await announceChanges(deps.changes, run.pass.changes, cal, logger);
      const counts = run.pass.eventCounts() ?? (await countEvents(deps.db, cal));
      await updateCalendarStatus(deps.db, sub.uid, sub.calendarId, {
        status: 'active',
        now: now(),
        synced: true,
        lastError: null,
        counts,
        ...(run.timeZone ? { timeZone: run.timeZone } : {}),
        ...(run.summary ? { summary: run.summary } : {}),
      });
      logger.info('sync', {
        trigger: opts.trigger,
        run: runs,
        full: run.full,
        ...run.totals,
        events: counts.events,
        occurrenceWrites: run.pass.occurrences.writes,
        occurrenceDeletes: run.pass.occurrences.deletes,
        occurrenceReads: run.pass.occurrences.reads,
        occurrenceQueries: run.pass.occurrences.queries,
        changesAnnounced: announced,
        durationMs: now() - started,
      });
      if (commit.kind === 'released') {
        lease = undefined;
        return result('synced', runs, anyFull);
      }
      // Notifications arrived during the run: one more incremental (or requested full) pass.
      syncToken = run.syncToken;
      full = commit.full;
      if (runs >= MAX_RUNS) {
        await releaseLease(deps.db, lease, { pending: true });
        lease = undefined;
        throw new Error(`re-requested ${runs} times in a row; handing over through redelivery`);
      }
    }
  } catch (err) {
    return await handleFailure(err);
  } finally {
    if (lease) {
      await releaseLease(deps.db, lease).catch((err: unknown) =>
        logger.warn('lease release failed; it will expire', { error: err }),
      );
    }
  }

  async function handleFailure(err: unknown): Promise<SyncResult> {
    const at = now();
    if (err instanceof LeaseLostError) {
      logger.warn('lease lost during sync; redelivery will retry', { runs });
      throw err;
    }
    const info = err instanceof CalendarError ? classifyGoogleError(err) : undefined;
    const short = { code: info?.kind ?? 'internal', reason: info?.message ?? errorText(err) };
    switch (info?.kind) {
      case 'invalid_grant':
        await markNeedsReauth(deps, subscriptionId, sub, info.message, logger);
        return result('needs_reauth', runs, anyFull);
      case 'not_found':
        await markCalendarRemoved(
          deps,
          subscriptionId,
          sub,
          api,
          `calendar not found: ${info.message}`,
        );
        return result('removed', runs, anyFull);
      case 'bad_request':
      case 'push_unsupported':
        // A retry would get the same answer: record it, acknowledge.
        await setSubscriptionStatus(deps.db, subscriptionId, 'error', at, short);
        await updateCalendarStatus(deps.db, sub.uid, sub.calendarId, {
          status: 'error',
          now: at,
          lastError: short,
        });
        logger.error('sync failed permanently', { error: err, kind: info.kind });
        return result('failed', runs, anyFull);
      default:
        await Promise.all([
          recordSubscriptionError(deps.db, subscriptionId, at, short),
          updateCalendarStatus(deps.db, sub.uid, sub.calendarId, {
            status: sub.status,
            now: at,
            lastError: short,
          }),
        ]).catch(() => undefined);
        logger.warn('sync failed; the message will be redelivered', {
          error: err,
          kind: short.code,
          runs,
        });
        throw err;
    }
  }
}

async function markNeedsReauth(
  deps: SyncDeps,
  subscriptionId: string,
  sub: SubscriptionDoc,
  reason: string,
  logger: Logger,
): Promise<void> {
  const now = (deps.clock ?? Date.now)();
  const error = { code: 'invalid_grant', reason };
  await markRevoked(deps.db, sub.uid);
  await setSubscriptionStatus(deps.db, subscriptionId, 'needs_reauth', now, error);
  await updateCalendarStatus(deps.db, sub.uid, sub.calendarId, {
    status: 'needs_reauth',
    now,
    lastError: error,
  });
  logger.warn('user must re-authorise; syncing stopped', { reason });
}

interface RunInput {
  full: boolean;
  syncToken: string | null;
  timeZone: string | undefined;
  logger: Logger;
  signal?: AbortSignal;
  /** The run's change feed set, shared by an incremental attempt and the full sync replacing it. */
  changes?: ChangeSet;
}

interface RunOutput {
  syncToken: string;
  startedAt: number;
  full: boolean;
  timeMin: string | undefined;
  timeZone: string | undefined;
  summary: string | undefined;
  totals: SyncTotals;
  /** Occurrences maintained and changes collected during the run. */
  pass: SyncPass;
}

/** True when the stored token can no longer be used: restart as a full sync. */
function tokenRejected(err: unknown): boolean {
  if (!(err instanceof CalendarError)) return false;
  return (
    err.kind === 'sync_token_invalid' || (err.kind === 'bad_request' && err.reason === 'invalid')
  );
}

/** One run; an incremental run whose token is rejected (410 / 400), even mid-paging, restarts as full. */
async function syncOnce(
  deps: SyncDeps,
  api: CalendarApi,
  cal: CalendarRef,
  lease: HeldLease,
  input: RunInput,
): Promise<RunOutput> {
  // Pages an incremental attempt wrote before a 410 stay written: their changes must be announced.
  input = { ...input, changes: input.changes ?? new ChangeSet() };
  if (!input.full && input.syncToken) {
    try {
      return await listAndApply(deps, api, cal, lease, { ...input, full: false });
    } catch (err) {
      if (!tokenRejected(err)) throw err;
      input.logger.warn('sync token rejected; running a full sync', {
        status: (err as CalendarError).status,
        reason: (err as CalendarError).reason,
      });
    }
  }
  return listAndApply(deps, api, cal, lease, { ...input, full: true });
}

async function listAndApply(
  deps: SyncDeps,
  api: CalendarApi,
  cal: CalendarRef,
  lease: HeldLease,
  input: RunInput,
): Promise<RunOutput> {
  const now = deps.clock ?? Date.now;
  const { config } = deps;
  const strategy = deps.writeStrategy ?? 'batch';
  const startedAt = now();
  const totals = emptyTotals();
  let timeZone = input.timeZone;
  const timeMin =
    input.full && config.fullSyncDaysBack !== undefined
      ? new Date(startedAt - config.fullSyncDaysBack * durations.DAY).toISOString()
      : undefined;
  // The next page is fetched while this one is written: one page ahead at most (memory: two pages).
  const list = (pageToken: string | undefined) => {
    const page = api.listEvents(
      {
        calendarId: cal.calendarId,
        maxResults: config.maxResults,
        singleEvents: false,
        // No showDeleted: with a syncToken the events.list reference says "it is not allowed to set
        // showDeleted to False" (deletions always come), and a delta must repeat the full sync's
        // parameters — so neither sends it (Google's default: false on full lists).
        ...(input.full
          ? timeMin !== undefined
            ? { timeMin }
            : {}
          : { syncToken: input.syncToken ?? '' }),
        ...(pageToken !== undefined ? { pageToken } : {}),
      },
      input.signal,
    );
    page.catch(() => undefined); // awaited below, unless a write failed first
    return page;
  };
  let next = list(undefined);
  // The calendar's details and (a full sync) whether anything is stored, while page 1 is fetched.
  const [info, storedBefore] = await Promise.all([
    input.full ? api.getCalendar(cal.calendarId, input.signal) : undefined,
    // A first full sync (nothing stored yet) needs neither version reads nor the sweep.
    !input.full || hasStoredEvents(deps.db, cal),
  ]);
  timeZone = info?.timeZone ?? timeZone;
  const summary = info?.summary;
  const seen = input.full && storedBefore ? new Set<string>() : undefined;
  const cancelledMasters = new Set<string>();
  const pass = new SyncPass(deps.db, cal, windowFor(startedAt, config), input.logger, {
    full: input.full,
    changes: input.changes ?? new ChangeSet(),
    storedBefore,
    strategy,
  });
  let lastRenewal = startedAt;

  try {
    for (let pageIndex = 0; ; pageIndex++) {
      const page: EventsPage = await next;
      if (page.nextPageToken) next = list(page.nextPageToken);
      totals.pages++;
      totals.items += page.items.length;
      timeZone = page.timeZone ?? timeZone;
      if (page.items.length > 0) {
        if (!timeZone) timeZone = (await api.getCalendar(cal.calendarId, input.signal)).timeZone;
        const ids = page.items.flatMap((i) => (i.id ? [encodeDocId(i.id)] : []));
        const stored = storedBefore ? await readEventStates(deps.db, cal, ids) : new Map();
        const plan = planPage(page.items, stored, {
          timeZone: timeZone ?? 'UTC',
          cancelledMasters,
        });
        // Events, cascades and occurrences of the page (in Firestore by pass.finish at the latest).
        const written = await pass.apply(page.items, plan, stored, timeZone ?? 'UTC');
        totals.writes += written.writes;
        totals.deletes += written.deletes;
        totals.skipped += plan.skipped;
        if (seen) for (const id of ids) seen.add(id);
      }
      await deps.hooks?.afterPage?.(pageIndex);
      if (now() - lastRenewal > config.leaseMs / 3) {
        if (!(await renewLease(deps.db, lease, now(), config.leaseMs))) {
          throw new LeaseLostError(lease.subscriptionId);
        }
        lastRenewal = now();
      }
      if (page.nextPageToken) continue;
      if (!page.nextSyncToken) {
        throw new Error('events.list returned neither nextPageToken nor nextSyncToken');
      }
      // Deleting what was not seen is safe only now, after the last page.
      if (seen) {
        totals.deletes += await sweepUnseen(deps.db, cal, seen, strategy, (docIds) =>
          pass.deleted(docIds, timeZone ?? 'UTC'),
        );
      }
      await pass.finish(timeZone ?? 'UTC');
      return {
        syncToken: page.nextSyncToken,
        startedAt,
        full: input.full,
        timeMin,
        timeZone,
        summary,
        totals,
        pass,
      };
    }
  } catch (err) {
    await pass.settle(); // no write of this run lands after the failure is handled
    throw err;
  }
}

function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}
