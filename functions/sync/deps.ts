// deps.ts of sync/ (convention: functions/index.ts): what the sync engine needs injected — Firestore, Calendar API factory, clock, logger, config.
import type { Firestore } from '@google-cloud/firestore';
import type { CalendarApiFactory, CalendarApiOptions } from '../calendar/api.js';
import type { ChangePublisher } from '../changes/publisher.js';
import type { WorkerConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { WriteStrategy } from '../store/events.js';

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
  /** The occurrence window (defaults 30 days back, 365 ahead). */
  Partial<Pick<WorkerConfig, 'occurrenceDaysBack' | 'occurrenceDaysAhead'>>;

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
  writeStrategy?: WriteStrategy;
  hooks?: SyncHooks;
  /** The change feed (CALSYNC_CHANGES_TOPIC); absent = no feed. Published after each token commit. */
  changes?: ChangePublisher;
  /** Passed to every CalendarApi built (tests: sleep, random). */
  apiOptions?: CalendarApiOptions;
  /**
   * Handles a notification whose subscription id is a `calendarList.watch` (connect --all):
   * reconciles the user's calendars; resolves false when the id is not such a watch.
   */
  calendarListNotification?: (message: {
    subscriptionId: string;
    channelId: string;
  }) => Promise<boolean>;
}
