// deps.ts of channels/ (convention: functions/index.ts): what the channel lifecycle (connect, renewal, reconcile) needs injected, and a per-run cache of users' Calendar APIs.
import type { Firestore } from '@google-cloud/firestore';
import type { CalendarApi, CalendarApiFactory, CalendarApiOptions } from '../calendar/api.js';
import type { RenewalConfig } from '../config.js';
import { CredentialsProblem, loadRefreshToken } from '../credentials/store.js';
import type { Logger } from '../log.js';
import type { SyncDeps } from '../sync/deps.js';

export interface LifecycleDeps {
  db: Firestore;
  /** The renewal and the CLI roles have the same requirements (webhook URL, secrets, keys, OAuth). */
  config: Readonly<RenewalConfig>;
  calendarApi: CalendarApiFactory;
  logger: Logger;
  /** ms since epoch. */
  now: () => number;
  /** Passed to every CalendarApi built (tests: sleep, random). */
  apiOptions?: CalendarApiOptions;
}

/** The sync engine's dependencies, built from the lifecycle's. */
export function syncDepsOf(deps: LifecycleDeps): SyncDeps {
  return {
    db: deps.db,
    calendarApi: deps.calendarApi,
    config: deps.config,
    logger: deps.logger,
    clock: deps.now,
    ...(deps.apiOptions ? { apiOptions: deps.apiOptions } : {}),
  };
}

export type UserApi =
  | { ok: true; api: CalendarApi }
  /**
   * No stored token or it was revoked (`no_token`), or it exists but cannot be used — no key
   * decrypts it, or the account is ambiguous (`unreadable`, with `code`): either way a person
   * must connect again; `failed`: reading the store failed (a retry may help).
   */
  | {
      ok: false;
      reason: 'no_token' | 'unreadable' | 'failed';
      code: string;
      message: string;
    };

/** The Google account whose credentials to use: a subscription's (uid, accountId). */
export interface AccountRef {
  uid: string;
  /** null / absent: the legacy, unbound form (the user's only account). */
  accountId?: string | null;
}

const keyOf = (ref: AccountRef) => `${ref.uid}\u0000${ref.accountId ?? ''}`;
const refOf = (ref: string | AccountRef): AccountRef =>
  typeof ref === 'string' ? { uid: ref } : ref;

/** Loads each account's refresh token once per run and shares one CalendarApi per account. */
export class UserApis {
  private readonly cache = new Map<string, Promise<UserApi>>();
  constructor(private readonly deps: LifecycleDeps) {}

  get(ref: string | AccountRef): Promise<UserApi> {
    const r = refOf(ref);
    let entry = this.cache.get(keyOf(r));
    if (!entry) {
      entry = this.load(r);
      this.cache.set(keyOf(r), entry);
    }
    return entry;
  }

  /** Forget an account (after invalid_grant) so the next call reads the store again. */
  forget(ref: string | AccountRef): void {
    this.cache.delete(keyOf(refOf(ref)));
  }

  private async load(ref: AccountRef): Promise<UserApi> {
    const { db, config } = this.deps;
    let token: string | null;
    try {
      token = await loadRefreshToken(db, config.tokenKeys, {
        uid: ref.uid,
        accountId: ref.accountId ?? null,
      });
    } catch (err) {
      if (err instanceof CredentialsProblem) {
        return { ok: false, reason: 'unreadable', code: err.code, message: err.message };
      }
      return {
        ok: false,
        reason: 'failed',
        code: 'credentials',
        message: err instanceof Error ? err.message : 'credentials could not be read',
      };
    }
    if (token === null) {
      return {
        ok: false,
        reason: 'no_token',
        code: 'invalid_grant',
        message: 'no usable refresh token stored',
      };
    }
    return {
      ok: true,
      api: this.deps.calendarApi(token, {
        retryBudgetMs: config.retryBudgetMs,
        ...this.deps.apiOptions,
      }),
    };
  }
}
