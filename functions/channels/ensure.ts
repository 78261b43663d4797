// One subscription's channel, end to end: claim it, rotate (new before old), and act on what Google answered.
import type { DocumentSnapshot, Timestamp } from '@google-cloud/firestore';
import { classifyGoogleError, isPermanent, type GoogleErrorInfo } from '../calendar/errors.js';
import type { Logger } from '../log.js';
import { paths, type ChannelRecord, type SubscriptionDoc } from '../store/schema.js';
import { recordCalendarFailure } from '../sync/failure.js';
import { markCalendarRemoved } from '../sync/remove.js';
import { claimDocument, releaseClaim } from './claim.js';
import { channelNeed, type ChannelNeed } from './decide.js';
import { syncDepsOf, type AccountRef, type LifecycleDeps, type UserApis } from './deps.js';
import {
  channelTimes,
  millis,
  rotateChannel,
  stopChannelRecord,
  type ChannelDeps,
  type StopOutcome,
} from './lifecycle.js';
import { markNeedsReauth, recordChannelError, switchToPolling } from './subscription.js';

export interface EnsureOptions {
  /** Claim holder (one per renewal run or CLI invocation). */
  holder: string;
  /** How long the claim lasts; must cover a watch + store + stop. */
  claimMs: number;
  apis: UserApis;
  /** Which needs to act on (decided again on fresh data inside the claim). Default: any but 'none'. */
  wanted?: (need: ChannelNeed) => boolean;
  signal?: AbortSignal;
  /** Awaited once the claim is ours, before any call to Google (the renewal run's quota pacing). */
  pace?: () => Promise<void>;
}

export type ChannelOutcome =
  | { kind: 'rotated'; need: ChannelNeed; channel: ChannelRecord; stop: StopOutcome }
  | { kind: 'skipped'; why: 'busy' | 'not_needed' | 'missing' }
  /** The calendar refuses push: switched to polling mode. */
  | { kind: 'polling' }
  | { kind: 'needs_reauth'; message: string }
  | { kind: 'removed'; message: string }
  | { kind: 'failed'; reason: string };

export function needOf(doc: SubscriptionDoc, now: number, deps: LifecycleDeps): ChannelNeed {
  return channelNeed(
    {
      status: doc.status,
      mode: doc.mode,
      channel: channelTimes(doc.channel),
      lastNotificationAt: millis(doc.lastNotificationAt),
    },
    now,
    deps.config,
  );
}

/** Renews or re-creates one subscription's channel if (on fresh data) it needs it. */
export async function ensureSubscriptionChannel(
  deps: LifecycleDeps,
  subscriptionId: string,
  o: EnsureOptions,
  /** The document as a query just returned it (enables the one-write claim). */
  seen?: DocumentSnapshot,
): Promise<ChannelOutcome> {
  const { db } = deps;
  const path = paths.subscription(subscriptionId);
  const wanted = o.wanted ?? ((n: ChannelNeed) => n !== 'none');
  const now = deps.now();
  let need: ChannelNeed = 'none';
  const stillNeeded = (doc: SubscriptionDoc) => {
    need = needOf(doc, now, deps);
    return wanted(need);
  };
  const claim = await claimDocument(db, path, o.holder, now, o.claimMs, stillNeeded, seen);
  if (claim.kind !== 'claimed') return { kind: 'skipped', why: claim.kind };
  await o.pace?.();
  const sub = claim.doc;
  const c: Claimed = {
    deps,
    o,
    subscriptionId,
    path,
    sub,
    account: { uid: sub.uid, accountId: sub.accountId ?? null },
    need,
    log: deps.logger.child({ subscriptionId }),
    released: false,
  };
  try {
    return await rotateClaimed(c, claim.writeTime);
  } catch (err) {
    const info = classifyGoogleError(err);
    c.log.error('channel renewal failed unexpectedly', { error: err });
    return { kind: 'failed', reason: `${info.kind}: ${info.message}` };
  } finally {
    if (!c.released) {
      await releaseClaim(db, path, o.holder).catch((err: unknown) =>
        c.log.warn('could not release the renewal claim; it will expire', { error: err }),
      );
    }
  }
}

/** One subscription under our renewal claim, while its channel is being ensured. */
interface Claimed {
  deps: LifecycleDeps;
  o: EnsureOptions;
  subscriptionId: string;
  path: string;
  sub: SubscriptionDoc;
  account: AccountRef;
  need: ChannelNeed;
  log: Logger;
  /** Set once a write took the claim away with it (nothing left to release). */
  released: boolean;
}

/** Loads the account's API, rotates the channel, and acts on what Google answered. */
async function rotateClaimed(
  c: Claimed,
  writeTime: Timestamp | undefined,
): Promise<ChannelOutcome> {
  const { deps, o, sub } = c;
  const user = await o.apis.get(c.account);
  if (!user.ok) {
    if (user.reason !== 'failed') return await reauth(c, user.message, user.code);
    await recordChannelError(deps.db, c.path, deps.now(), {
      code: 'credentials',
      reason: user.message,
    });
    return { kind: 'failed', reason: `credentials: ${user.message}` };
  }
  const api = user.api;
  const chDeps = { db: deps.db, api, config: deps.config, logger: c.log, now: deps.now };
  const result = await rotateChannel(
    chDeps,
    {
      path: c.path,
      tokenId: c.subscriptionId,
      watch: (request, signal) => api.watchEvents(sub.calendarId, request, signal),
      extra: { mode: 'push' },
    },
    o.holder,
    o.signal,
    { doc: sub, writeTime },
  );
  switch (result.kind) {
    case 'rotated':
      c.released = true;
      if (result.stop === 'invalid_grant') {
        return await reauth(c, 'refresh token rejected while stopping the old channel');
      }
      c.log.info('channel opened', {
        need: c.need,
        channelId: result.channel.id,
        expiresAt: result.channel.expiration.toDate(),
        previousChannelId: result.previous?.id,
        stop: result.stop,
      });
      return { kind: 'rotated', need: c.need, channel: result.channel, stop: result.stop };
    case 'lost':
      c.released = true;
      return { kind: 'failed', reason: 'claim lost before the channel was stored' };
    case 'refused':
      return await actOnRefusal(c, chDeps, result.error);
  }
  return { kind: 'failed', reason: 'unexpected rotation result' };
}

/** events.watch failed: poll a calendar that refuses push, remove a deleted one, else record the error. */
async function actOnRefusal(
  c: Claimed,
  chDeps: ChannelDeps,
  error: GoogleErrorInfo,
): Promise<ChannelOutcome> {
  const { deps, sub } = c;
  if (error.kind === 'push_unsupported') {
    for (const old of [sub.channel, sub.previousChannel]) {
      if (old) await stopChannelRecord(chDeps, old);
    }
    await switchToPolling(deps.db, c.subscriptionId, sub.uid, sub.calendarId, deps.now());
    c.released = true;
    c.log.info('calendar refuses push notifications; polling it instead', {
      reason: error.reason,
    });
    return { kind: 'polling' };
  }
  if (error.kind === 'invalid_grant') return await reauth(c, error.message);
  if (error.kind === 'not_found') {
    await markCalendarRemoved(syncDepsOf(deps), c.subscriptionId, sub, chDeps.api, error.message);
    return { kind: 'removed', message: error.message };
  }
  const failed = { kind: 'failed', reason: `${error.kind}: ${error.message}` } as const;
  if (isPermanent(error.kind)) {
    // Google will answer the same (403 forbidden, a 400): the calendar says so, and the scheduled
    // run retries it on the error backoff — as a sync's permanent failure does (decision 008).
    const failure = { code: error.kind, reason: error.message };
    await recordCalendarFailure(syncDepsOf(deps), c.subscriptionId, c.log, failure, true);
    return failed;
  }
  await recordChannelError(deps.db, c.path, deps.now(), {
    code: error.kind,
    reason: error.message,
  });
  return failed;
}

/** A person must act (no token, revoked, unreadable): needs_reauth, the claim goes with it. */
async function reauth(c: Claimed, message: string, code?: string): Promise<ChannelOutcome> {
  c.o.apis.forget(c.account);
  await markNeedsReauth(c.deps.db, c.subscriptionId, c.sub.uid, c.deps.now(), message, {
    accountId: c.account.accountId,
    ...(code ? { code } : {}),
  });
  c.released = true;
  return { kind: 'needs_reauth', message };
}
