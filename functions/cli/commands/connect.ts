// `calsync connect`: identify the Google account, store its encrypted credentials, resolve the calendar, subscribe (bound to that account), first full sync, open the channel; --all reconciles that account's calendar list.
import { sleep } from '../../calendar/backoff.js';
import { classifyGoogleError } from '../../calendar/errors.js';
import { ensureCalendarListWatch, reconcileCalendarList } from '../../channels/calendar-list.js';
import { syncDepsOf, UserApis } from '../../channels/deps.js';
import { ensureSubscriptionChannel, type ChannelOutcome } from '../../channels/ensure.js';
import { upsertSubscription } from '../../channels/subscription.js';
import { subscriptionIdFor } from '../../ids.js';
import {
  CALENDAR_READONLY_SCOPE,
  identifyAccount,
  IdentifyError,
} from '../../credentials/identity.js';
import { saveCredentials, type GoogleAccount } from '../../credentials/store.js';
import { paths, type CredentialsDoc, type SubscriptionDoc } from '../../store/schema.js';
import { runSync, type SyncResult } from '../../sync/engine.js';
import type { CliDeps } from '../deps.js';
import { CliError } from '../errors.js';

export { CALENDAR_READONLY_SCOPE };

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
  /** The Google account (email, or account id) the calendar syncs with. */
  account: string;
  /**
   * Set when the calendar already syncs through another of the user's accounts whose credentials
   * work: it was left as it was (nothing synced, no channel opened) — that account's address.
   */
  keptWith?: string;
}

export interface ConnectReport {
  /** The Google account the refresh token belongs to. */
  account: { accountId: string; email: string | null; identity: GoogleAccount['identity'] };
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
  const { account, scopes } = await identify(deps, input.refreshToken, api);
  deps.progress(`Google account: ${account.email ?? account.accountId}`);
  // Only a token Google accepted is stored, encrypted with the current key, under its account.
  await saveCredentials(
    db,
    config.tokenKeys,
    input.uid,
    input.refreshToken,
    scopes.length > 0 ? scopes : [CALENDAR_READONLY_SCOPE],
    account,
  );
  const apis = new UserApis(deps);
  const calendar = await connectOne(deps, apis, input.uid, info, account);
  const owner = { uid: input.uid, accountId: account.accountId };

  let calendarList: ConnectReport['calendarList'];
  if (input.all) {
    const watch = await ensureCalendarListWatch(deps, owner, {
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
    const r = await reconcileCalendarList(deps, owner, {
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
  return {
    account: { accountId: account.accountId, email: account.email, identity: account.identity },
    calendar,
    calendarList,
  };
}

/** Which Google account the token belongs to (OpenID sub; the primary calendar for old grants). */
async function identify(
  deps: CliDeps,
  refreshToken: string,
  api: ReturnType<CliDeps['calendarApi']>,
) {
  try {
    return await identifyAccount(deps.config.oauth, refreshToken, {
      timeoutMs: deps.config.googleTimeoutMs,
      primaryCalendarId: async () => (await api.getCalendar('primary')).id,
    });
  } catch (err) {
    if (err instanceof IdentifyError) {
      throw new CliError(`${err.message}: nothing was stored`);
    }
    throw err;
  }
}

/**
 * May this connect move the subscription from the account it is bound to? Only when that
 * account's credentials are gone, revoked or unreadable: connecting a second account never
 * rebinds the first account's calendars.
 */
async function mayTakeOver(deps: CliDeps, uid: string, subscriptionId: string) {
  const sub = (await deps.db.doc(paths.subscription(subscriptionId)).get()).data() as
    SubscriptionDoc | undefined;
  const bound = sub?.accountId;
  if (!bound) return { takeOver: true, boundEmail: null };
  const cred = (await deps.db.doc(paths.account(uid, bound)).get()).data() as
    CredentialsDoc | undefined;
  return { takeOver: !cred || cred.status !== 'valid', boundEmail: cred?.email ?? bound };
}

/** Subscribe one calendar: subscription + calendar doc, first sync, channel, catch-up sync. */
async function connectOne(
  deps: CliDeps,
  apis: UserApis,
  uid: string,
  info: { id: string; summary: string | undefined; timeZone: string | undefined },
  account: GoogleAccount,
): Promise<ConnectedCalendar> {
  const label = account.email ?? account.accountId;
  const { takeOver, boundEmail } = await mayTakeOver(deps, uid, subscriptionIdFor(uid, info.id));
  const up = await upsertSubscription(deps.db, uid, info, deps.now(), {
    accountId: account.accountId,
    email: account.email,
    takeOver,
  });
  if (up.kept) {
    const other = boundEmail ?? 'another account';
    deps.progress(
      `${info.id} already syncs through ${other}; left as it is (disconnect it first to move it to ${label})`,
    );
    return {
      subscriptionId: up.subscriptionId,
      calendarId: info.id,
      mode: up.doc.mode,
      created: false,
      sync: { outcome: 'inactive', pages: 0, items: 0, writes: 0 },
      channel: null,
      account: other,
      keptWith: other,
    };
  }
  deps.progress(
    `${up.created ? 'created' : 'refreshed'} subscription ${up.subscriptionId} for ${info.id} (account ${label})`,
  );
  const firstStartedAt = deps.now();
  const sync = await firstSync(deps, up.subscriptionId, info.id);
  const outcome = await ensureSubscriptionChannel(deps, up.subscriptionId, {
    holder: deps.holder,
    claimMs: claimMs(deps),
    apis,
    // Idempotent: a live channel that is not due for renewal is kept.
    wanted: (n) => n === 'missing' || n === 'expired' || n === 'renew',
  });
  const channel = await describeChannel(deps, outcome, up.subscriptionId);
  let catchUpWrites = 0;
  if (outcome.kind === 'rotated') {
    // Changes made between the end of the full sync and the channel's birth: one cheap delta. Not
    // before the re-check delay since the full listing began: a change made just before it may
    // become listable only later (Google's visibility lag), and no notification will tell.
    await sleep(Math.max(0, firstStartedAt + deps.config.recheckMs - deps.now()));
    const caught = await runSync(syncDepsOf(deps), up.subscriptionId, {
      trigger: 'connect-catch-up',
    });
    catchUpWrites = caught.writes;
  }
  return {
    subscriptionId: up.subscriptionId,
    calendarId: info.id,
    mode: outcome.kind === 'polling' ? 'poll' : 'push',
    created: up.created,
    sync: {
      outcome: sync.outcome,
      pages: sync.pages,
      items: sync.items,
      writes: sync.writes + catchUpWrites,
    },
    channel,
    account: label,
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
