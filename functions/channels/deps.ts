// deps.ts of channels/ (convention: functions/index.ts): what the channel lifecycle (connect, renewal, reconcile) needs injected, and a per-run cache of users' Calendar APIs.
import type { Firestore } from '@google-cloud/firestore';
import type { CalendarApi, CalendarApiFactory, CalendarApiOptions } from '../calendar/api.js';
import type { RenewalConfig } from '../config.js';
import { loadRefreshToken } from '../credentials/store.js';
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
  /** No stored token, or it was revoked: the user must re-authorise. */
  | { ok: false; reason: 'no_token' | 'unreadable'; message: string };

/** Loads each user's refresh token once per run and shares one CalendarApi per user. */
export class UserApis {
  private readonly cache = new Map<string, Promise<UserApi>>();
  constructor(private readonly deps: LifecycleDeps) {}

  get(uid: string): Promise<UserApi> {
    let entry = this.cache.get(uid);
    if (!entry) {
      entry = this.load(uid);
      this.cache.set(uid, entry);
    }
    return entry;
  }

  /** Forget a user (after invalid_grant) so the next call reads the store again. */
  forget(uid: string): void {
    this.cache.delete(uid);
  }

  private async load(uid: string): Promise<UserApi> {
    const { db, config } = this.deps;
    let token: string | null;
    try {
      token = await loadRefreshToken(db, config.tokenKeys, uid);
    } catch (err) {
      return {
        ok: false,
        reason: 'unreadable',
        message: err instanceof Error ? err.message : 'credentials could not be read',
      };
    }
    if (token === null) {
      return { ok: false, reason: 'no_token', message: 'no usable refresh token stored' };
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
