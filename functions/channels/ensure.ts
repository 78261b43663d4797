// One subscription's channel, end to end: claim it, rotate (new before old), and act on what Google answered.
import type { DocumentSnapshot } from '@google-cloud/firestore';
import { classifyGoogleError } from '../calendar/errors.js';
import { paths, type ChannelRecord, type SubscriptionDoc } from '../store/schema.js';
import { markCalendarRemoved } from '../sync/remove.js';
import { claimDocument, releaseClaim } from './claim.js';
import { channelNeed, type ChannelNeed } from './decide.js';
import { syncDepsOf, type LifecycleDeps, type UserApis } from './deps.js';
import {
  channelTimes,
  millis,
  rotateChannel,
  stopChannelRecord,
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
  const { db, logger } = deps;
  const path = paths.subscription(subscriptionId);
  const wanted = o.wanted ?? ((n: ChannelNeed) => n !== 'none');
  const now = deps.now();
  let need: ChannelNeed = 'none';
  const claim = await claimDocument<SubscriptionDoc>(
    db,
    path,
    o.holder,
    now,
    o.claimMs,
    (doc) => {
      need = needOf(doc, now, deps);
      return wanted(need);
    },
    seen,
  );
  if (claim.kind !== 'claimed') return { kind: 'skipped', why: claim.kind };
  const sub = claim.doc;
  const log = logger.child({ subscriptionId });
  let released = false;
  try {
    const account = { uid: sub.uid, accountId: sub.accountId ?? null };
    /** A person must act (no token, revoked, unreadable): needs_reauth, the claim goes with it. */
    const reauth = async (message: string, code?: string): Promise<ChannelOutcome> => {
      o.apis.forget(account);
      await markNeedsReauth(db, subscriptionId, sub.uid, deps.now(), message, {
        accountId: account.accountId,
        ...(code ? { code } : {}),
      });
      released = true;
      return { kind: 'needs_reauth', message };
    };
    const user = await o.apis.get(account);
    if (!user.ok) {
      if (user.reason !== 'failed') return await reauth(user.message, user.code);
      await recordChannelError(db, path, deps.now(), { code: 'credentials', reason: user.message });
      return { kind: 'failed', reason: `credentials: ${user.message}` };
    }
    const api = user.api;
    const chDeps = { db, api, config: deps.config, logger: log, now: deps.now };
    const result = await rotateChannel(
      chDeps,
      {
        path,
        tokenId: subscriptionId,
        watch: (request, signal) => api.watchEvents(sub.calendarId, request, signal),
        extra: { mode: 'push' },
      },
      o.holder,
      o.signal,
      { doc: sub, writeTime: claim.writeTime },
    );
    switch (result.kind) {
      case 'rotated':
        released = true;
        if (result.stop === 'invalid_grant') {
          return await reauth('refresh token rejected while stopping the old channel');
        }
        log.info('channel opened', {
          need,
          channelId: result.channel.id,
          expiresAt: result.channel.expiration.toDate(),
          previousChannelId: result.previous?.id,
          stop: result.stop,
        });
        return { kind: 'rotated', need, channel: result.channel, stop: result.stop };
      case 'lost':
        released = true;
        return { kind: 'failed', reason: 'claim lost before the channel was stored' };
      case 'refused': {
        const { error } = result;
        if (error.kind === 'push_unsupported') {
          for (const old of [sub.channel, sub.previousChannel]) {
            if (old) await stopChannelRecord(chDeps, old);
          }
          await switchToPolling(db, subscriptionId, sub.uid, sub.calendarId, deps.now());
          released = true;
          log.info('calendar refuses push notifications; polling it instead', {
            reason: error.reason,
          });
          return { kind: 'polling' };
        }
        if (error.kind === 'invalid_grant') return await reauth(error.message);
        if (error.kind === 'not_found') {
          await markCalendarRemoved(syncDepsOf(deps), subscriptionId, sub, api, error.message);
          return { kind: 'removed', message: error.message };
        }
        await recordChannelError(db, path, deps.now(), {
          code: error.kind,
          reason: error.message,
        });
        return { kind: 'failed', reason: `${error.kind}: ${error.message}` };
      }
    }
    return { kind: 'failed', reason: 'unexpected rotation result' };
  } catch (err) {
    const info = classifyGoogleError(err);
    log.error('channel renewal failed unexpectedly', { error: err });
    return { kind: 'failed', reason: `${info.kind}: ${info.message}` };
  } finally {
    if (!released) {
      await releaseClaim(db, path, o.holder).catch((err: unknown) =>
        log.warn('could not release the renewal claim; it will expire', { error: err }),
      );
    }
  }
}
