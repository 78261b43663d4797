// What every step of one sync run works with: deps, the user's Calendar API, the calendar, the lease keeper, the logger.
import type { CalendarApi } from '../calendar/api.js';
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
}
