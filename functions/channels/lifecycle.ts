// Channel lifecycle: open a watch channel, store it (current + previous) under a claim, then stop the old one.
import { randomUUID } from 'node:crypto';
import { Timestamp, type Firestore } from '@google-cloud/firestore';
import type { CalendarApi, WatchedChannel, WatchRequest } from '../calendar/api.js';
import { classifyGoogleError, type GoogleErrorInfo } from '../calendar/errors.js';
import type { ChannelSecrets } from '../config.js';
import type { Logger } from '../log.js';
import { recordRetiredChannel } from '../store/retired-channels.js';
import type { ChannelRecord } from '../store/schema.js';
import { isPreconditionFailure } from './claim.js';
import { signChannelToken } from './token.js';

/** How much later than the requested ttl a v2 token's signed expiry is (clock skew, call latency). */
export const TOKEN_EXPIRY_SLACK_MS = 10 * 60_000;

export interface ChannelConfig {
  readonly webhookUrl: string;
  readonly channelSecrets: ChannelSecrets;
  readonly channelTtlSeconds: number;
}

export interface ChannelDeps {
  db: Firestore;
  api: CalendarApi;
  config: ChannelConfig;
  logger: Logger;
  now: () => number;
}

/** A document that owns a channel: a subscription (events.watch) or a calendar-list watch. */
export interface ChannelTarget {
  /** Firestore path of the document holding channel / previousChannel / channelExpiresAt / renewalClaim. */
  path: string;
  /** Id signed into the channel token (`v2.<tokenId>.<expiry>.<mac>`). */
  tokenId: string;
  /** events.watch or calendarList.watch. */
  watch(request: WatchRequest, signal?: AbortSignal): Promise<WatchedChannel>;
  /** Extra fields written with the new channel (e.g. mode: 'push'). */
  extra?: Record<string, unknown>;
}

/** What the stored document must look like for the new channel to be stored. */
export interface StoredChannelFields {
  status?: string;
  channel?: ChannelRecord | null;
  previousChannel?: ChannelRecord | null;
  renewalClaim?: { holder: string; until: Timestamp } | null;
}

export type StopOutcome = 'stopped' | 'none' | 'invalid_grant' | 'failed';

export type RotateResult =
  | {
      kind: 'rotated';
      channel: ChannelRecord;
      /** The channel that was current before (now stored as previous), if any. */
      previous: ChannelRecord | null;
      stop: StopOutcome;
    }
  /** events.watch failed: nothing changed (push_unsupported, invalid_grant, not_found, transient...). */
  | { kind: 'refused'; error: GoogleErrorInfo }
  /** The claim was lost or the document changed status meanwhile: the new channel was stopped, nothing stored. */
  | { kind: 'lost' };

/**
 * New before old: opens a channel with a fresh UUID and an HMAC token, stores it as current with
 * the old one as previous (only while `holder` still holds the document's claim, in a
 * transaction that also releases the claim), and only then stops the old channel. The webhook and
 * worker accept both channels during the overlap, so no notification falls between them.
 */
export async function rotateChannel(
  deps: ChannelDeps,
  target: ChannelTarget,
  holder: string,
  signal?: AbortSignal,
  /** The document as claimed and the claim's write time: lets the store be one conditioned write. */
  claimed?: { doc: StoredChannelFields; writeTime: Timestamp | undefined },
): Promise<RotateResult> {
  const opened = await openChannel(deps, target, signal);
  if (opened.kind === 'refused') return opened;
  const record = opened.record;
  const stored = await storeChannel(deps, target, record, holder, claimed);
  if (!stored.ok) {
    deps.logger.warn('claim lost before the new channel was stored; stopping it', {
      channelId: record.id,
    });
    const lostStop = await stopChannelRecord(deps, record);
    await retire(deps, record, target.tokenId, lostStop);
    return { kind: 'lost' };
  }
  const stop = stored.old ? await stopChannelRecord(deps, stored.old) : 'none';
  // The old channel stays `previousChannel` (accepted) until the next rotation drops it; from then
  // on the worker finds it here: stopped, so a late or replayed notification costs no Google call.
  if (stored.old) await retire(deps, stored.old, target.tokenId, stop);
  if (stop === 'invalid_grant') {
    // The old channel cannot be stopped any more; drop our record of it anyway (it expires by itself).
    await deps.db
      .doc(target.path)
      .update({ previousChannel: null })
      .catch(() => undefined);
  }
  return { kind: 'rotated', channel: record, previous: stored.old, stop };
}

/** Opens the channel at Google (fresh UUID, v2 token) and makes the record to store, with an expiration to count on. */
async function openChannel(
  deps: ChannelDeps,
  target: ChannelTarget,
  signal?: AbortSignal,
): Promise<
  { kind: 'opened'; record: ChannelRecord } | { kind: 'refused'; error: GoogleErrorInfo }
> {
  const { config, logger } = deps;
  const id = randomUUID();
  // v2: the channel's expiry is signed into the token, so its notifications stop verifying (plus
  // the grace period) once the channel is dead. Signed a little after the ttl we ask for, so the
  // expiration Google returns (its clock, after the call) is normally inside it and stored as is.
  const tokenExpiry = deps.now() + config.channelTtlSeconds * 1000 + TOKEN_EXPIRY_SLACK_MS;
  const token = signChannelToken(config.channelSecrets.current, id, target.tokenId, tokenExpiry);
  let watched: WatchedChannel;
  try {
    watched = await target.watch(
      { id, token, address: config.webhookUrl, ttlSeconds: config.channelTtlSeconds },
      signal,
    );
  } catch (err) {
    return { kind: 'refused', error: classifyGoogleError(err) };
  }
  const now = deps.now();
  let expiration = watched.expiration;
  if (!Number.isFinite(expiration) || expiration <= now) {
    // Google always returns one; never store a channel that would look expired at once.
    logger.warn('watch returned no usable expiration; assuming the requested ttl', {
      channelId: watched.id,
    });
    expiration = now + config.channelTtlSeconds * 1000;
  }
  // The token stops verifying after tokenExpiry (+ grace): never count on the channel longer (should
  // Google ever grant more than asked), so renewal replaces it before its notifications are refused.
  expiration = Math.min(expiration, tokenExpiry);
  const record: ChannelRecord = {
    id: watched.id,
    resourceId: watched.resourceId,
    expiration: Timestamp.fromMillis(expiration),
    createdAt: Timestamp.fromMillis(now),
    tokenVersion: 2,
  };
  return { kind: 'opened', record };
}

/**
 * Stores `record` as current, the old channel as previous, releasing the claim — only while
 * `holder` still holds it: one conditioned write when nothing touched the document since the
 * claim, else a transaction that checks the claim and the status.
 */
async function storeChannel(
  deps: ChannelDeps,
  target: ChannelTarget,
  record: ChannelRecord,
  holder: string,
  claimed?: { doc: StoredChannelFields; writeTime: Timestamp | undefined },
): Promise<{ ok: false } | { ok: true; old: ChannelRecord | null }> {
  const ref = deps.db.doc(target.path);
  const fields = (doc: StoredChannelFields) => ({
    ...target.extra,
    channel: record,
    previousChannel: doc.channel ?? doc.previousChannel ?? null,
    channelExpiresAt: record.expiration,
    renewalClaim: null,
    updatedAt: Timestamp.fromMillis(deps.now()),
  });
  if (claimed?.writeTime) {
    // Fast path: nothing touched the document since our claim, so it still holds.
    try {
      await ref.update(fields(claimed.doc), { lastUpdateTime: claimed.writeTime });
      return { ok: true, old: claimed.doc.channel ?? null };
    } catch (err) {
      if (!isPreconditionFailure(err)) throw err;
    }
  }
  return deps.db.runTransaction(async (tx) => {
    const snap = await tx.get(ref);
    const doc = snap.data() as StoredChannelFields | undefined;
    const live = !doc?.status || doc.status === 'active' || doc.status === 'error';
    if (!doc || doc.renewalClaim?.holder !== holder || !live) {
      return { ok: false as const };
    }
    tx.update(ref, fields(doc));
    return { ok: true as const, old: doc.channel ?? null };
  });
}

/** Records a channel calsync replaced (best effort: without the record a stray notification is only acknowledged). */
async function retire(
  deps: Pick<ChannelDeps, 'db' | 'logger' | 'now'>,
  channel: ChannelRecord,
  ownerId: string,
  stop: StopOutcome,
): Promise<void> {
  await recordRetiredChannel(deps.db, channel, ownerId, stop === 'stopped', deps.now()).catch(
    (err: unknown) =>
      deps.logger.warn('could not record a retired channel', { channelId: channel.id, error: err }),
  );
}

/** Stops one channel; 404 / 410 (unknown or already stopped) count as stopped. Never throws. */
export async function stopChannelRecord(
  deps: Pick<ChannelDeps, 'api' | 'logger'>,
  channel: { id: string; resourceId: string },
  signal?: AbortSignal,
): Promise<StopOutcome> {
  try {
    await deps.api.stopChannel({ id: channel.id, resourceId: channel.resourceId }, signal);
    return 'stopped';
  } catch (err) {
    const info = classifyGoogleError(err);
    if (info.kind === 'not_found' || info.status === 410 || info.status === 404) return 'stopped';
    if (info.kind === 'invalid_grant') return 'invalid_grant';
    deps.logger.warn('channels.stop failed; the channel will expire by itself', {
      channelId: channel.id,
      kind: info.kind,
      status: info.status,
      reason: info.reason,
    });
    return 'failed';
  }
}

/** The channel's fields in ms, for decisions. */
export function channelTimes(
  c: ChannelRecord | null | undefined,
): { expiration: number; createdAt: number } | null {
  if (!c) return null;
  return { expiration: c.expiration.toMillis(), createdAt: c.createdAt.toMillis() };
}

/** Ms of an optional Timestamp. */
export function millis(t: Timestamp | null | undefined): number | null {
  return t ? t.toMillis() : null;
}
