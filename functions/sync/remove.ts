// Calendar gone (confirmed 404/410, or no longer listed): status removed (ending any live lease), channels stopped, data deleted unless kept.
import type { CalendarApi } from '../calendar/api.js';
import { classifyGoogleError } from '../calendar/errors.js';
import { deleteCalendarData } from '../store/events.js';
import type { SubscriptionDoc } from '../store/schema.js';
import { clearChannels, setTerminalStatus } from '../store/subscriptions.js';
import type { SyncDeps } from './deps.js';

/**
 * Marks the calendar removed. The status change revokes any live sync lease in the same commit,
 * so a sync still running cannot write the data back after it is deleted here.
 */
export async function markCalendarRemoved(
  deps: SyncDeps,
  subscriptionId: string,
  sub: SubscriptionDoc,
  api: CalendarApi | undefined,
  reason: string,
): Promise<void> {
  const now = (deps.clock ?? Date.now)();
  await setTerminalStatus(deps.db, subscriptionId, 'removed', now, { code: 'removed', reason });
  for (const channel of [sub.channel, sub.previousChannel]) {
    if (!channel || !api) continue;
    await api
      .stopChannel({ id: channel.id, resourceId: channel.resourceId })
      .catch((err: unknown) =>
        deps.logger.warn('could not stop the channel of a removed calendar', {
          subscriptionId,
          channelId: channel.id,
          error: err,
        }),
      );
  }
  await clearChannels(deps.db, subscriptionId, now);
  if (!deps.config.keepDataOnRemove) {
    await deleteCalendarData(deps.db, { uid: sub.uid, calendarId: sub.calendarId });
  }
  deps.logger.warn('calendar removed', {
    subscriptionId,
    reason,
    dataKept: deps.config.keepDataOnRemove,
  });
}

export type Existence = 'gone' | 'exists' | 'unknown';

/**
 * Asks Google whether the calendar still exists (calendars.get): a `not_exists` notification or a
 * 404 from a list call is a hint, not a proof — a replayed or spurious one must not wipe a mirror.
 * Only 404 / 410 on the calendar itself count as gone; an error that proves nothing is `unknown`.
 */
export async function confirmCalendar(
  api: CalendarApi,
  calendarId: string,
  signal?: AbortSignal,
): Promise<Existence> {
  try {
    await api.getCalendar(calendarId, signal);
    return 'exists';
  } catch (err) {
    const info = classifyGoogleError(err);
    if (info.kind === 'not_found' || info.status === 404 || info.status === 410) return 'gone';
    return 'unknown';
  }
}
