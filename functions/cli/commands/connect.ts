// `calsync connect`: store encrypted credentials, resolve the calendar, subscribe, first full sync (sync engine), open the channel; --all reconciles the calendar list.
import { classifyGoogleError } from '../../calendar/errors.js';
import { ensureCalendarListWatch, reconcileCalendarList } from '../../channels/calendar-list.js';
import { syncDepsOf, UserApis } from '../../channels/deps.js';
import { ensureSubscriptionChannel, type ChannelOutcome } from '../../channels/ensure.js';
import { upsertSubscription } from '../../channels/subscription.js';
import { saveCredentials } from '../../credentials/store.js';
import { paths, type SubscriptionDoc } from '../../store/schema.js';
import { runSync, type SyncResult } from '../../sync/engine.js';
import type { CliDeps } from '../deps.js';
import { CliError } from '../errors.js';

export const CALENDAR_READONLY_SCOPE = 'https://www.googleapis.com/auth/calendar.readonly';

export interface ConnectInput {
  uid: string;
  calendarId: string;
  refreshToken: string;
  all: boolean;
}

export interface ConnectedCalendar {
  subscriptionId: string;
  calendarId: string;
  mode: 'push' | 'poll';
  created: boolean;
  sync: { outcome: SyncResult['outcome']; pages: number; items: number; writes: number };
  channel: { id: string; expiresAt: string } | null;
}

export interface ConnectReport {
  calendar: ConnectedCalendar;
  calendarList?: { added: string[]; removed: string[] } | undefined;
}

/** Claims last a few minutes: long enough for a watch + store + stop with retries. */
function claimMs(deps: CliDeps): number {
  return 2 * deps.config.googleTimeoutMs + deps.config.retryBudgetMs + 60_000;
}

export async function connect(deps: CliDeps, input: ConnectInput): Promise<ConnectReport> {
  const { db, config } = deps;
  const api = deps.calendarApi(input.refreshToken, { retryBudgetMs: config.retryBudgetMs });
  let info;
  try {
    info = await api.getCalendar(input.calendarId);
  } catch (err) {
    const e = classifyGoogleError(err);
    if (e.kind === 'invalid_grant') {
      throw new CliError('Google rejected the refresh token (invalid_grant): nothing was stored');
    }
    if (e.kind === 'not_found') {
      throw new CliError(`calendar ${input.calendarId} not found (or not shared with this user)`);
    }
    throw new CliError(`could not read calendar ${input.calendarId}: ${e.kind}: ${e.message}`);
  }
  if (info.id !== input.calendarId) deps.progress(`resolved ${input.calendarId} to ${info.id}`);
  // Only a token Google accepted is stored, encrypted with the current key.
  await saveCredentials(db, config.tokenKeys, input.uid, input.refreshToken, [
    CALENDAR_READONLY_SCOPE,
  ]);
  const apis = new UserApis(deps);
  const calendar = await connectOne(deps, apis, input.uid, info);

  let calendarList: ConnectReport['calendarList'];
  if (input.all) {
    const watch = await ensureCalendarListWatch(deps, input.uid, {
      holder: deps.holder,
      claimMs: claimMs(deps),
      apis,
    });
    if (watch.kind === 'needs_reauth' || watch.kind === 'failed') {
      throw new CliError(`could not watch the calendar list: ${watch.reason}`);
    }
    deps.progress(
      watch.kind === 'rotated' ? 'watching the calendar list' : 'calendar list already watched',
    );
    const r = await reconcileCalendarList(deps, input.uid, {
      holder: deps.holder,
      claimMs: claimMs(deps),
      apis,
      onConnected: async (subscriptionId, calendarId) => {
        deps.progress(`connecting ${calendarId} (from the calendar list)`);
        await firstSync(deps, subscriptionId, calendarId);
      },
    });
    for (const id of r.removed) deps.progress(`removed ${id} (no longer in the calendar list)`);
    calendarList = { added: r.added, removed: r.removed };
  }
  return { calendar, calendarList };
}

/** Subscribe one calendar: subscription + calendar doc, first sync, channel, catch-up sync. */
async function connectOne(
  deps: CliDeps,
  apis: UserApis,
  uid: string,
  info: { id: string; summary: string | undefined; timeZone: string | undefined },
): Promise<ConnectedCalendar> {
  const up = await upsertSubscription(deps.db, uid, info, deps.now());
  deps.progress(
    `${up.created ? 'created' : 'refreshed'} subscription ${up.subscriptionId} for ${info.id}`,
  );
  const sync = await firstSync(deps, up.subscriptionId, info.id);
  const outcome = await ensureSubscriptionChannel(deps, up.subscriptionId, {
    holder: deps.holder,
    claimMs: claimMs(deps),
    apis,
    // Idempotent: a live channel that is not due for renewal is kept.
    wanted: (n) => n === 'missing' || n === 'expired' || n === 'renew',
  });
  const channel = await describeChannel(deps, outcome, up.subscriptionId);
  if (outcome.kind === 'rotated') {
    // Changes made between the end of the full sync and the channel's birth: one cheap delta.
    await runSync(syncDepsOf(deps), up.subscriptionId, { trigger: 'connect-catch-up' });
  }
  return {
    subscriptionId: up.subscriptionId,
    calendarId: info.id,
    mode: outcome.kind === 'polling' ? 'poll' : 'push',
    created: up.created,
    sync: { outcome: sync.outcome, pages: sync.pages, items: sync.items, writes: sync.writes },
    channel,
  };
}

async function firstSync(deps: CliDeps, subscriptionId: string, calendarId: string) {
  const sync = await runSync(
    {
      ...syncDepsOf(deps),
      holderId: deps.holder,
      hooks: { afterPage: (i) => deps.progress(`  ${calendarId}: page ${i + 1} written`) },
    },
    subscriptionId,
    { trigger: 'connect' },
  ).catch((err: unknown) => {
    const e = classifyGoogleError(err);
    throw new CliError(`first sync of ${calendarId} failed: ${e.kind}: ${e.message}`);
  });
  switch (sync.outcome) {
    case 'synced':
      deps.progress(
        `  ${calendarId}: ${sync.full ? 'full' : 'incremental'} sync done: ${sync.pages} page(s), ${sync.items} item(s), ${sync.writes} write(s)`,
      );
      break;
    case 'busy':
      deps.progress(`  ${calendarId}: a worker is syncing it right now; it will include this run`);
      break;
    case 'needs_reauth':
      throw new CliError(`${calendarId}: Google rejected the refresh token (needs_reauth)`);
    case 'removed':
      throw new CliError(`${calendarId}: calendar not found; marked removed`);
    default:
      throw new CliError(`${calendarId}: first sync ended with "${sync.outcome}"`);
  }
  return sync;
}

async function describeChannel(
  deps: CliDeps,
  outcome: ChannelOutcome,
  subscriptionId: string,
): Promise<ConnectedCalendar['channel']> {
  switch (outcome.kind) {
    case 'rotated': {
      const expiresAt = outcome.channel.expiration.toDate().toISOString();
      deps.progress(`watch channel ${outcome.channel.id} open until ${expiresAt}`);
      return { id: outcome.channel.id, expiresAt };
    }
    case 'skipped': {
      const snap = await deps.db.doc(paths.subscription(subscriptionId)).get();
      const ch = (snap.data() as SubscriptionDoc | undefined)?.channel;
      if (!ch) return null;
      const expiresAt = ch.expiration.toDate().toISOString();
      deps.progress(`watch channel ${ch.id} already open until ${expiresAt}`);
      return { id: ch.id, expiresAt };
    }
    case 'polling':
      deps.progress('the calendar refuses push notifications: connected in polling mode');
      return null;
    case 'needs_reauth':
      throw new CliError(`could not open a channel: Google rejected the refresh token`);
    case 'removed':
      throw new CliError(`could not open a channel: calendar not found (${outcome.message})`);
    case 'failed':
      throw new CliError(`could not open a channel: ${outcome.reason}`);
  }
}
