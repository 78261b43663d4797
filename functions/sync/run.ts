// One sync run: a delta (or a diffing full listing) fetched page by page — the next page prefetched while one is applied — and written under the fence.
import type { EventsPage } from '../calendar/api.js';
import { CalendarError } from '../calendar/errors.js';
import { deletedEntries, pageEntries, type ChangeSet } from '../changes/collect.js';
import { durations } from '../config.js';
import { SyncPass, windowFor } from '../occurrences/pass.js';
import {
  deleteExceptionsOf,
  hasStoredEvents,
  readEventStates,
  sweepUnseen,
  type EventOp,
} from '../store/events.js';
import { commitFenced } from '../store/fence.js';
import { encodeDocId, paths } from '../store/schema.js';
import { planPage } from './apply.js';
import type { RunContext } from './context.js';
import { queueQuarantining, quarantineStub, repairRefused } from './quarantine.js';
import { recomputeForZone } from './zone-change.js';

export interface SyncTotals {
  pages: number;
  items: number;
  writes: number;
  deletes: number;
  skipped: number;
  quarantined: number;
  /** ms the run waited for an events.list page (Google's side; the next page is prefetched). */
  listWaitMs: number;
}

export const emptyTotals = (): SyncTotals => ({
  pages: 0,
  items: 0,
  writes: 0,
  deletes: 0,
  skipped: 0,
  quarantined: 0,
  listWaitMs: 0,
});

export function addTotals(into: SyncTotals, from: SyncTotals): void {
  for (const k of Object.keys(into) as (keyof SyncTotals)[]) into[k] += from[k];
}

export interface RunInput {
  full: boolean;
  syncToken: string | null;
  /** The zone the mirror was written with (calendar document); a change triggers a recompute. */
  timeZone: string | undefined;
  /** An earlier worker's zone recompute was not committed (`allDayZoneDirty`): recompute anyway. */
  zoneDirty?: boolean;
  /** The change feed's set, shared by an incremental attempt and the full sync replacing it. */
  changes: ChangeSet;
}

export interface RunOutput {
  syncToken: string;
  full: boolean;
  timeMin: string | undefined;
  timeZone: string | undefined;
  summary: string | undefined;
  totals: SyncTotals;
  /** Occurrences maintained and changes collected during the run. */
  pass: SyncPass;
}

/** True when the stored token can no longer be used: restart as a full sync. */
export function tokenRejected(err: unknown): boolean {
  if (!(err instanceof CalendarError)) return false;
  // 410 fullSyncRequired, or a 400 on a call carrying a sync token — whatever its wording
  // (CALENDAR-API.md: match status and reason, never the text).
  return err.kind === 'sync_token_invalid' || (err.kind === 'bad_request' && err.status === 400);
}

/** One run; an incremental run whose token is rejected (410 / 400), even mid-paging, restarts as full. */
export async function syncOnce(ctx: RunContext, input: RunInput): Promise<RunOutput> {
  if (!input.full && input.syncToken) {
    try {
      return await listAndApply(ctx, { ...input, full: false });
    } catch (err) {
      if (!tokenRejected(err)) throw err;
      ctx.logger.warn('sync token rejected; running a full sync', {
        status: (err as CalendarError).status,
        reason: (err as CalendarError).reason,
      });
    }
  }
  return listAndApply(ctx, { ...input, full: true });
}

/** What one listing carries from page to page. */
interface Listing {
  input: RunInput;
  storedBefore: boolean;
  /** Full listings: every id seen (the sweep's keep-list; a repeat on a first sync is read back). */
  seen: Set<string> | undefined;
  cancelledMasters: Set<string>;
  timeZone: string | undefined;
  summary: string | undefined;
  timeMin: string | undefined;
  totals: SyncTotals;
  pass: SyncPass;
}

async function listAndApply(ctx: RunContext, input: RunInput): Promise<RunOutput> {
  const { listing, pages } = await openListing(ctx, input);
  let last: EventsPage | undefined;
  try {
    let pageIndex = 0;
    for await (const page of pages) {
      await applyPage(ctx, listing, page);
      await ctx.deps.hooks?.afterPage?.(pageIndex++);
      last = page;
    }
    if (!last?.nextSyncToken) {
      throw new Error('events.list returned neither nextPageToken nor nextSyncToken');
    }
    await finishListing(ctx, listing);
  } catch (err) {
    await listing.pass.settle(); // a first sync's batches in flight land (or fail) first
    throw err;
  }
  return {
    syncToken: last.nextSyncToken,
    full: input.full,
    timeMin: listing.timeMin,
    timeZone: listing.timeZone,
    summary: listing.summary,
    totals: listing.totals,
    pass: listing.pass,
  };
}

/**
 * Starts the listing: page 1 is requested at once, while the calendar's details and (a full sync)
 * whether anything is stored are fetched beside it.
 */
async function openListing(
  ctx: RunContext,
  input: RunInput,
): Promise<{ listing: Listing; pages: AsyncGenerator<EventsPage> }> {
  const { deps, cal } = ctx;
  const now = (deps.clock ?? Date.now)();
  const daysBack = deps.config.fullSyncDaysBack;
  const timeMin =
    input.full && daysBack !== undefined
      ? new Date(now - daysBack * durations.DAY).toISOString()
      : undefined;
  const totals = emptyTotals();
  const listed = listPages(ctx, { input, timeMin, totals });
  const first = listed.next();
  first.catch(() => undefined); // observed below, or by the caller's first iteration
  let info: { timeZone?: string; summary?: string } | undefined;
  let storedBefore: boolean;
  try {
    [info, storedBefore] = await Promise.all([
      input.full
        ? ctx.keeper.forCall(ctx.signal).then((s) => ctx.api.getCalendar(cal.calendarId, s))
        : undefined,
      // A first full sync (nothing stored yet) needs neither version reads nor the sweep.
      !input.full || hasStoredEvents(deps.db, cal),
    ]);
  } catch (err) {
    void listed.return(undefined).catch(() => undefined); // aborts any prefetch
    throw err;
  }
  const listing: Listing = {
    input,
    storedBefore,
    seen: input.full ? new Set<string>() : undefined,
    cancelledMasters: new Set<string>(),
    timeZone: info?.timeZone,
    summary: info?.summary,
    timeMin,
    totals,
    pass: new SyncPass(deps.db, cal, windowFor(now, deps.config), ctx.logger, {
      full: input.full,
      fence: ctx.keeper.fence,
      changes: input.changes,
      storedBefore,
      // Events and occurrences share pipelined batches; a refused one is quarantined event by event.
      onRefused: repairRefused(quarantineContext(ctx), () => totals.quarantined++),
    }),
  };
  return { listing, pages: primed(first, listed) };
}

/** The listing's pages: the one already requested, then the rest of the same generator. */
async function* primed(
  first: Promise<IteratorResult<EventsPage>>,
  rest: AsyncGenerator<EventsPage>,
): AsyncGenerator<EventsPage> {
  try {
    const one = await first;
    if (one.done) return;
    yield one.value;
    yield* rest;
  } finally {
    await rest.return(undefined);
  }
}

function quarantineContext(ctx: RunContext) {
  const { deps, cal, keeper } = ctx;
  return { db: deps.db, cal, fence: keeper.fence, now: deps.clock ?? Date.now, logger: ctx.logger };
}

/**
 * The listing's pages in order. While the caller applies one page, the next is already being
 * fetched (each fetch bounded by the lease); an abandoned listing aborts its prefetch.
 */
async function* listPages(
  ctx: RunContext,
  l: Pick<Listing, 'input' | 'timeMin' | 'totals'>,
): AsyncGenerator<EventsPage> {
  const abort = new AbortController();
  const outer = ctx.signal ? AbortSignal.any([ctx.signal, abort.signal]) : abort.signal;
  const fetch = async (pageToken: string | undefined) =>
    ctx.api.listEvents(
      {
        calendarId: ctx.cal.calendarId,
        maxResults: ctx.deps.config.maxResults,
        singleEvents: false,
        // No showDeleted: with a syncToken Google says "it is not allowed to set showDeleted to
        // False", and a delta must repeat the full sync's parameters, so neither sends it.
        ...(l.input.full
          ? l.timeMin !== undefined
            ? { timeMin: l.timeMin }
            : {}
          : { syncToken: l.input.syncToken ?? '' }),
        ...(pageToken !== undefined ? { pageToken } : {}),
      },
      await ctx.keeper.forCall(outer),
    );
  let next: Promise<EventsPage> | undefined = fetch(undefined);
  try {
    while (next) {
      const waitStart = performance.now();
      const page: EventsPage = await next;
      l.totals.listWaitMs += Math.round(performance.now() - waitStart);
      next = page.nextPageToken ? fetch(page.nextPageToken) : undefined;
      next?.catch(() => undefined); // observed when awaited; never an unhandled rejection
      yield page;
    }
  } finally {
    abort.abort(new Error('listing abandoned'));
  }
}

async function applyPage(ctx: RunContext, l: Listing, page: EventsPage): Promise<void> {
  const { deps, cal, keeper } = ctx;
  l.totals.pages++;
  l.totals.items += page.items.length;
  l.timeZone = page.timeZone ?? l.timeZone;
  if (page.items.length === 0) return;
  l.timeZone ??= (
    await ctx.api.getCalendar(cal.calendarId, await keeper.forCall(ctx.signal))
  ).timeZone;
  const timeZone = l.timeZone ?? 'UTC';
  const ids = page.items.flatMap((i) => (i.id ? [encodeDocId(i.id)] : []));
  // Paging runs over live data: an id may come twice in one listing. A first sync (nothing stored
  // before) reads back only those, so an older copy never overwrites a newer one.
  const toRead = l.storedBefore ? ids : ids.filter((id) => l.seen?.has(id));
  if (!l.storedBefore && toRead.length > 0) await l.pass.flush(); // the earlier copy has landed
  const stored = toRead.length > 0 ? await readEventStates(deps.db, cal, toRead) : new Map();
  const plan = planPage(page.items, stored, { timeZone, cancelledMasters: l.cancelledMasters });
  const now = deps.clock ?? Date.now;
  const stubs: EventOp[] = plan.unhandled.map((u) => {
    ctx.logger.warn('event quarantined', {
      event: 'quarantined',
      eventId: u.item.id,
      reason: u.reason,
    });
    const op = {
      type: 'set' as const,
      docId: u.docId,
      event: u.item,
      startAt: undefined,
      endAt: undefined,
    };
    return quarantineStub(op, `could not be processed: ${u.reason.slice(0, 160)}`, now());
  });
  const ops = [...plan.ops, ...stubs];
  // The change feed's outbox first (fenced), then the page's writes, queued: they land with the
  // page's occurrences (pass.page), or later on a first sync.
  await ctx.outbox?.record(pageEntries(page.items, ops, stored, encodeDocId));
  const written = await queueQuarantining(ops, quarantineContext(ctx), l.pass.queue);
  l.totals.writes += written.writes;
  l.totals.deletes += written.deletes;
  l.totals.quarantined += written.quarantined + 0;
  l.totals.skipped += plan.skipped;
  if (plan.cascadeMasters.length > 0) await l.pass.flush(); // the cascade's query sees them
  l.totals.deletes += await deleteExceptionsOf(deps.db, cal, plan.cascadeMasters, keeper.fence, {
    before: async (d) => ctx.outbox?.record(deletedEntries(d)),
    after: (d) => l.pass.cascaded(d),
  });
  // The page's occurrences (before the commit): from its items on a full run, else from the mirror.
  await l.pass.page(page.items, ops, stored, plan.cascadeMasters, timeZone);
  if (l.seen) for (const id of ids) l.seen.add(id);
}

async function finishListing(ctx: RunContext, l: Listing): Promise<void> {
  const { deps, cal, keeper } = ctx;
  const timeZone = l.timeZone ?? 'UTC';
  // Deleting what was not seen is safe only now, after the last page.
  if (l.seen && l.storedBefore) {
    l.totals.deletes += await sweepUnseen(deps.db, cal, l.seen, keeper.fence, {
      before: async (d) => ctx.outbox?.record(deletedEntries(d)),
      after: (d) => l.pass.deleted(d, timeZone),
    });
  }
  await l.pass.finish(timeZone);
  const before = l.input.timeZone;
  const changed = before !== undefined && l.timeZone !== undefined && before !== l.timeZone;
  if (!l.input.full && l.timeZone && (changed || l.input.zoneDirty === true)) {
    // A time-zone change comes with no event delta, but all-day times depend on the zone. Marked
    // first: a worker dying midway leaves times of a zone no document names (soak seed 7365).
    await markZoneDirty(ctx);
    const recomputed = await recomputeForZone(ctx, l.timeZone, before ?? 'unknown');
    l.totals.writes += recomputed.writes;
  }
}

/** Notes (fenced, on the subscription) that all-day times are being recomputed until the commit. */
async function markZoneDirty(ctx: RunContext): Promise<void> {
  const batch = ctx.keeper.fence.batch();
  batch.update(ctx.deps.db.doc(paths.subscription(ctx.keeper.lease.subscriptionId)), {
    allDayZoneDirty: true,
  });
  await commitFenced(ctx.keeper.fence, batch); // a revoked lease: FenceRevokedError, as every write
}
