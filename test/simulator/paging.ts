// Stateless paging shared by events.list, instances and calendarList.list: snapshot sequence +
// cursor in a signed page token, pages that are short or empty from the seed, one of
// nextPageToken / nextSyncToken per page (https://developers.google.com/calendar/api/guides/sync).
import type { ApiContext } from './context.js';
import { errors } from './errors.js';
import { unitFor } from './random.js';

export interface Candidate {
  /** Sort key; unique within one listing. */
  key: string;
  /** Change sequence of the item (only items with since < seq <= snapshot are listed). */
  seq: number;
  render(): unknown;
}

export interface PageState {
  /** Fingerprint of the query the token belongs to. */
  fp: string;
  /** Snapshot: the collection's change sequence when the first page was served. */
  snap: number;
  /** Incremental lower bound (exclusive), or -1 for a full listing. */
  since: number;
  epoch: number;
  after: string | null;
  n: number;
}

export interface Page {
  items: unknown[];
  next?: PageState;
}

export const DEFAULT_MAX_RESULTS = 250;
export const MAX_MAX_RESULTS = 2500;

/** maxResults: default 250, at most 2500 (larger values are capped, as Google does). */
export function pageSize(
  ctx: ApiContext,
  dflt = DEFAULT_MAX_RESULTS,
  max = MAX_MAX_RESULTS,
): number {
  const m = ctx.query.int('maxResults');
  if (m === undefined) return dflt;
  if (m < 1) throw errors.invalidParam('maxResults');
  return Math.min(m, max);
}

export function decodePageToken(ctx: ApiContext, fp: string): PageState | undefined {
  const token = ctx.query.str('pageToken');
  if (token === undefined || token === '') return undefined;
  const st = ctx.tokens.decode<PageState>('page', token);
  // A page token only continues the query it came from.
  if (!st || st.fp !== fp) throw errors.invalidParam('pageToken', 'Invalid page token value.');
  return st;
}

export function encodePageToken(ctx: ApiContext, st: PageState): string {
  return ctx.tokens.encode('page', st);
}

/**
 * One page of `cands` after `state.after`. A non-final page may be forced empty or short, and the
 * last items may be sent with a nextPageToken so that the final page is empty (seeded,
 * reproducible: the same token always yields the same page shape).
 *
 * Snapshot paging (default): only items changed up to `state.snap` (the first page's moment) are
 * listed. Live paging (realism.livePaging): every page reads the current data; callers order items
 * by change sequence, so an item changed mid-listing moves behind the cursor's later pages (seen
 * twice, or newer than the rest of its listing), and the sync token — `state.snap`, a watermark
 * taken when the listing began — makes the next delta repeat whatever changed meanwhile
 * (CALENDAR-API.md: recorded tokens decode to a timestamp; google-api-ruby-client#860).
 */
export function paginate(
  ctx: ApiContext,
  cands: Candidate[],
  state: PageState,
  size: number,
): Page {
  const live = ctx.settings.realism.livePaging;
  const visible = cands
    .filter(
      (c) =>
        (live || c.seq <= state.snap) &&
        c.seq > state.since &&
        (state.after === null || c.key > state.after),
    )
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  let take = size;
  const { seed } = ctx.settings;
  const { emptyPageRate, shortPageRate, emptyLastPageRate } = ctx.settings.realism;
  const where = `${state.fp}|${state.snap}|${state.since}|${state.after}|${state.n}`;
  if (visible.length > 0 && (emptyPageRate > 0 || shortPageRate > 0)) {
    const r = unitFor(where, seed);
    if (r < Math.min(emptyPageRate, 0.9)) take = 0;
    else if (r < Math.min(emptyPageRate, 0.9) + shortPageRate && size > 1) {
      take = 1 + Math.floor(unitFor(`short|${state.n}|${state.after}`, seed) * (size - 1));
    }
  }
  const pageItems = visible.slice(0, take);
  const items = pageItems.map((c) => c.render());
  const last = pageItems.at(-1);
  const next = { ...state, after: last ? last.key : state.after, n: state.n + 1 };
  if (visible.length > take) return { items, next };
  // "A page may hold fewer items than maxResults, or none at all" (events.list reference) — the
  // last one too: the items end here but a nextPageToken leads to an empty page with the token.
  if (visible.length > 0 && unitFor(`last|${where}`, seed) < emptyLastPageRate)
    return { items, next };
  return { items };
}

/** Live paging orders items by change sequence: a changed item moves to the end of the listing. */
export function liveKeys(cands: Candidate[]): void {
  for (const c of cands) c.key = `${String(c.seq).padStart(12, '0')}|${c.key}`;
}
