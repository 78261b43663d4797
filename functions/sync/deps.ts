// deps.ts of sync/ (convention: functions/index.ts): what the sync engine needs injected — Firestore, Calendar API factory, clock, logger, config.
import type { Firestore } from '@google-cloud/firestore';
import type { CalendarApiFactory, CalendarApiOptions } from '../calendar/api.js';
import type { ChangePublisher } from '../changes/publisher.js';
import type { WorkerConfig } from '../config.js';
import type { Logger } from '../log.js';

export type SyncConfig = Pick<
  WorkerConfig,
  | 'maxResults'
  | 'leaseMs'
  | 'retryBudgetMs'
  | 'clockSkewMs'
  | 'fullSyncDaysBack'
  | 'keepDataOnRemove'
  | 'tokenKeys'
> &
  /** The occurrence window (defaults 30 days back, 365 ahead); coalescing and retry knobs (config.ts defaults). */
  Partial<
    Pick<
      WorkerConfig,
      | 'occurrenceDaysBack'
      | 'occurrenceDaysAhead'
      | 'settleMs'
      | 'recheckMs'
      | 'minSyncIntervalMs'
      | 'errorRetryBaseMs'
      | 'errorRetryMaxMs'
      | 'transientFailuresBeforeError'
    >
  >;

export interface SyncHooks {
  /** Called after page `pageIndex` (0-based) of a run has been written; throw to simulate a crash. */
  afterPage?(pageIndex: number): void | Promise<void>;
}

export interface SyncDeps {
  db: Firestore;
  calendarApi: CalendarApiFactory;
  config: SyncConfig;
  logger: Logger;
  /** ms since epoch; defaults to Date.now. */
  clock?: () => number;
  /** Lease holder id of this worker instance; defaults to a random id per call. */
  holderId?: string;
  hooks?: SyncHooks;
  /** The change feed (CALSYNC_CHANGES_TOPIC); absent = no feed. Published after each token commit. */
  changes?: ChangePublisher;
  /** Passed to every CalendarApi built (tests: sleep, random). */
  apiOptions?: CalendarApiOptions;
  /** Pauses (settle window, minimum interval, re-check); defaults to a timer. Tests: a simulated clock. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Handles a notification whose subscription id is a `calendarList.watch` (connect --all):
   * reconciles the user's calendars; resolves false when the id is not such a watch.
   */
  calendarListNotification?: (message: {
    subscriptionId: string;
    channelId: string;
  }) => Promise<boolean>;
}
