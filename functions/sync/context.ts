// What every step of one sync run works with: deps, the user's Calendar API, the calendar, the lease keeper, the logger.
import type { CalendarApi } from '../calendar/api.js';
import type { Outbox } from '../changes/outbox.js';
import type { Logger } from '../log.js';
import type { CalendarRef } from '../store/events.js';
import type { SyncDeps } from './deps.js';
import type { LeaseKeeper } from './lease-keeper.js';

export interface RunContext {
  deps: SyncDeps;
  api: CalendarApi;
  cal: CalendarRef;
  keeper: LeaseKeeper;
  logger: Logger;
  signal?: AbortSignal;
  /** With a change feed: each page's announcements are stored (fenced) before the page is written. */
  outbox?: Outbox;
}
