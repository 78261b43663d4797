// Publishing a committed sync's changes: after the token commit only, failures logged (the data is already stored).
import type { Logger } from '../log.js';
import type { ChangeSet } from './collect.js';
import type { ChangePublisher } from './publisher.js';

/**
 * Publishes the run's changes. Called only after the sync token was committed, so the feed never
 * announces what is not stored. A failure is logged, not thrown: the mirror is already correct and
 * a redelivered notification would find nothing left to announce.
 */
export async function announceChanges(
  publisher: ChangePublisher | undefined,
  changes: ChangeSet,
  cal: { uid: string; calendarId: string },
  logger: Logger,
): Promise<number> {
  if (!publisher || changes.size === 0) return 0;
  const messages = changes.messages(cal.uid, cal.calendarId);
  if (messages.length === 0) return 0;
  try {
    await publisher.publish(messages);
    return messages.length;
  } catch (err) {
    logger.error('change feed publish failed; these changes were not announced', {
      error: err,
      changes: messages.length,
    });
    return 0;
  }
}
