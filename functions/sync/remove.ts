// Calendar gone (404 or not_exists): mark removed, stop its channels, delete its data unless configured to keep it.
import type { CalendarApi } from '../calendar/api.js';
import { deleteCalendarData } from '../store/events.js';
import { updateCalendarStatus } from '../store/calendars.js';
import type { SubscriptionDoc } from '../store/schema.js';
import { clearChannels, setSubscriptionStatus } from '../store/subscriptions.js';
import type { SyncDeps } from './deps.js';

export async function markCalendarRemoved(
  deps: SyncDeps,
  subscriptionId: string,
  sub: SubscriptionDoc,
  api: CalendarApi | undefined,
  reason: string,
): Promise<void> {
  const now = (deps.clock ?? Date.now)();
  const error = { code: 'removed', reason };
  await setSubscriptionStatus(deps.db, subscriptionId, 'removed', now, error);
  await updateCalendarStatus(deps.db, sub.uid, sub.calendarId, {
    status: 'removed',
    now,
    lastError: error,
  });
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
