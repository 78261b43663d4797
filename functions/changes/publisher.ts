// The change feed's narrow publisher and its Pub/Sub implementation (ordering key per calendar).
import { lazyTopic } from '../pubsub-topic.js';
import type { ChangeMessage } from './collect.js';

export interface ChangePublisher {
  /** Resolves once Pub/Sub has acknowledged every message; in order per calendar. */
  publish(messages: readonly ChangeMessage[]): Promise<void>;
}

export interface ClosableChangePublisher extends ChangePublisher {
  close(): Promise<void>;
}

/** One ordering key per calendar: a consumer sees one calendar's changes in commit order. */
export function orderingKey(m: Pick<ChangeMessage, 'uid' | 'calendarId'>): string {
  return `${m.uid}/${m.calendarId}`;
}

/** Messages in flight at once (keeps a 10,000-event first sync from queueing everything). */
const WINDOW = 500;

/**
 * Publishes to `topicName` with message ordering enabled. The client (gRPC) is loaded on the first
 * publish, so a worker without changes to announce never pays for it; it finds
 * PUBSUB_EMULATOR_HOST by itself.
 */
export function pubsubChangePublisher(
  projectId: string,
  topicName: string,
): ClosableChangePublisher {
  const topic = lazyTopic(projectId, topicName, {
    messageOrdering: true,
    batching: { maxMessages: 500, maxMilliseconds: 20 },
  });
  return {
    async publish(messages) {
      if (messages.length === 0) return;
      const t = await topic.get();
      for (let i = 0; i < messages.length; i += WINDOW) {
        const chunk = messages.slice(i, i + WINDOW);
        try {
          await Promise.all(
            chunk.map((m) =>
              t.publishMessage({
                data: Buffer.from(JSON.stringify(m), 'utf8'),
                orderingKey: orderingKey(m),
                attributes: { uid: m.uid, calendarId: m.calendarId, change: m.change },
              }),
            ),
          );
        } catch (err) {
          // A failed publish pauses its ordering key; let later publishes through again.
          for (const key of new Set(chunk.map(orderingKey))) t.resumePublishing(key);
          throw err;
        }
      }
    },
    close: () => topic.close(),
  };
}
