// What a failed sync becomes: the status machine's transitions for every error kind (README "Sync status").
import type { CalendarApi } from '../calendar/api.js';
import { CalendarError, classifyGoogleError, isPermanent } from '../calendar/errors.js';
import { DecryptError } from '../credentials/crypto.js';
import { CredentialsProblem, markRevoked } from '../credentials/store.js';
import type { Logger } from '../log.js';
import { FenceRevokedError } from '../store/fence.js';
import type { SubscriptionDoc } from '../store/schema.js';
import { recordFailure, setTerminalStatus } from '../store/subscriptions.js';
import type { SyncDeps } from './deps.js';
import { LeaseLostError } from './lease-keeper.js';
import { confirmCalendar, markCalendarRemoved } from './remove.js';

export interface FailureContext {
  deps: SyncDeps;
  subscriptionId: string;
  sub: SubscriptionDoc;
  api: CalendarApi | undefined;
  logger: Logger;
  /**
   * Announces what crashed runs left in the change feed's outbox, as the mirror holds it, while the
   * lease is still held: called before a failure no commit will follow soon is recorded (never
   * throws).
   */
  flushOutbox?: () => Promise<void>;
}

/** Outcomes a failure resolves to; anything else is rethrown so Pub/Sub redelivers. */
export type FailureOutcome = 'needs_reauth' | 'removed' | 'failed';

/** No usable refresh token is stored for the subscription's user (never connected, or revoked). */
export class NoCredentialsError extends Error {
  constructor() {
    super('no usable refresh token stored');
    this.name = 'NoCredentialsError';
  }
}

/** The scope calsync asks for; named when the user granted less. */
export const REQUIRED_SCOPE = 'https://www.googleapis.com/auth/calendar.readonly';

/**
 * Resolves with an outcome for what a retry would not fix (and records it); rethrows what a
 * redelivery may fix (rate limits, 5xx, timeouts, a lost lease) after counting the failure.
 */
export async function settleFailure(f: FailureContext, err: unknown): Promise<FailureOutcome> {
  if (err instanceof LeaseLostError || err instanceof FenceRevokedError) {
    f.logger.warn('lease lost during sync; redelivery will retry', { error: err });
    throw err instanceof LeaseLostError
      ? err
      : new LeaseLostError(f.subscriptionId, { cause: err });
  }
  if (err instanceof NoCredentialsError) {
    await needsReauth(f, 'no_credentials', err.message, false);
    return 'needs_reauth';
  }
  if (err instanceof CredentialsProblem) {
    // No configured key opens it (recorded on the credentials), or the account is ambiguous.
    await needsReauth(f, err.code, err.message, false);
    return 'needs_reauth';
  }
  if (err instanceof DecryptError) {
    // No configured key opens it (the previous key was removed too early): a person must reconnect.
    await needsReauth(
      f,
      'credentials_unreadable',
      `stored credentials cannot be decrypted: ${err.message}`,
      false,
    );
    return 'needs_reauth';
  }
  const info = err instanceof CalendarError ? classifyGoogleError(err) : undefined;
  switch (info?.kind) {
    case 'invalid_grant':
      await needsReauth(f, 'invalid_grant', info.message, true);
      return 'needs_reauth';
    case 'insufficient_scope':
      await needsReauth(
        f,
        'insufficient_scope',
        `the grant lacks the scope ${REQUIRED_SCOPE}`,
        false,
      );
      return 'needs_reauth';
    case 'not_found':
      return notFound(f, info.message);
    default:
      if (info && isPermanent(info.kind)) {
        await failed(f, { code: info.kind, reason: info.message }, true);
        f.logger.error('sync failed permanently; retried on a backoff', {
          error: err,
          kind: info.kind,
        });
        return 'failed';
      }
      await failed(f, { code: info?.kind ?? 'internal', reason: errorText(err) }, false).catch(
        () => undefined,
      );
      f.logger.warn('sync failed; the message will be redelivered', {
        error: err,
        kind: info?.kind ?? 'internal',
      });
      throw err;
  }
}

async function failed(
  f: FailureContext,
  error: { code: string; reason: string },
  permanent: boolean,
): Promise<void> {
  // A permanent refusal: no run commits (and so announces the outbox) until it is lifted.
  if (permanent) await f.flushOutbox?.();
  await recordCalendarFailure(f.deps, f.subscriptionId, f.logger, error, permanent);
}

/**
 * Records a failure of the calendar (a sync's, or its channel's): status `error` with the next
 * automatic retry when permanent or after a streak (store/subscriptions.ts recordFailure), logged.
 */
export async function recordCalendarFailure(
  deps: Pick<SyncDeps, 'db' | 'clock' | 'config'>,
  subscriptionId: string,
  logger: Logger,
  error: { code: string; reason: string },
  permanent: boolean,
): Promise<void> {
  const recorded = await recordFailure(deps.db, subscriptionId, {
    now: (deps.clock ?? Date.now)(),
    error,
    permanent,
    policy: retryPolicyOf(deps.config),
  });
  if (recorded?.status === 'error') {
    logger.warn('calendar in error; next automatic retry scheduled', {
      event: 'sync_error',
      failures: recorded.failures,
      nextRetryAt: recorded.nextRetryAt === null ? null : new Date(recorded.nextRetryAt),
      code: error.code,
    });
  }
}

export function retryPolicyOf(config: SyncDeps['config']) {
  return {
    errorRetryBaseMs: config.errorRetryBaseMs ?? 3_600_000,
    errorRetryMaxMs: config.errorRetryMaxMs ?? 86_400_000,
    transientFailuresBeforeError: config.transientFailuresBeforeError ?? 5,
  };
}

async function needsReauth(f: FailureContext, code: string, reason: string, revoke: boolean) {
  // Before the terminal status revokes the lease: nothing commits until the user reconnects.
  await f.flushOutbox?.();
  const now = (f.deps.clock ?? Date.now)();
  if (revoke) await markRevoked(f.deps.db, { uid: f.sub.uid, accountId: f.sub.accountId ?? null });
  await setTerminalStatus(f.deps.db, f.subscriptionId, 'needs_reauth', now, { code, reason });
  f.logger.warn('user must re-authorise; syncing stopped', { event: 'needs_reauth', code, reason });
}

/** A 404 while syncing: removed only once calendars.get confirms the calendar is gone. */
async function notFound(f: FailureContext, message: string): Promise<FailureOutcome> {
  const existence = f.api ? await confirmCalendar(f.api, f.sub.calendarId) : 'unknown';
  if (existence === 'gone') {
    await markCalendarRemoved(
      f.deps,
      f.subscriptionId,
      f.sub,
      f.api,
      `calendar not found: ${message}`,
    );
    return 'removed';
  }
  await failed(f, { code: 'not_found', reason: `${message} (the calendar itself answers)` }, true);
  return 'failed';
}

export function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}
