// Publishing a committed sync's changes: after the token commit only, failures logged (the data is already stored).
import type { Logger } from '../log.js';
import type { ChangeSet } from './collect.js';
import type { ChangePublisher } from './publisher.js';

/**
 * Publishes the run's changes. Called only after the sync token was committed, so the feed never
 * announces what is not stored. A failure is logged, not thrown (the mirror is already correct):
 * the caller keeps the outbox, and the calendar's next run announces the changes.
 */
export async function announceChanges(
  publisher: ChangePublisher | undefined,
  changes: ChangeSet,
  cal: { uid: string; calendarId: string; fence: number },
  logger: Logger,
): Promise<{ count: number; ok: boolean }> {
  if (!publisher || changes.size === 0) return { count: 0, ok: true };
  const messages = changes.messages(cal.uid, cal.calendarId, cal.fence);
  if (messages.length === 0) return { count: 0, ok: true };
  try {
    await publisher.publish(messages);
    return { count: messages.length, ok: true };
  } catch (err) {
    logger.error('change feed publish failed; kept in the outbox for the next run', {
      error: err,
      changes: messages.length,
    });
    return { count: 0, ok: false };
  }
}
