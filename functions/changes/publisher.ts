// The change feed's narrow publisher and its Pub/Sub implementation (ordering key per calendar).
import type { PubSub, Topic } from '@google-cloud/pubsub';
import type { ChangeMessage } from './collect.js';

export interface ChangePublisher {
  /** Resolves once Pub/Sub has acknowledged every message; in order per calendar. */
  publish(messages: readonly ChangeMessage[]): Promise<void>;
}

/** One ordering key per calendar: a consumer sees one calendar's changes in commit order. */
export function orderingKey(m: Pick<ChangeMessage, 'uid' | 'calendarId'>): string {
  return `${m.uid}/${m.calendarId}`;
}

/** Messages in flight at once (keeps a 10,000-event first sync from queueing everything). */
const WINDOW = 500;

export function pubsubChangePublisher(pubsub: PubSub, topicName: string): ChangePublisher {
  let topic: Topic | undefined;
  const getTopic = () =>
    (topic ??= pubsub.topic(topicName, {
      messageOrdering: true,
      batching: { maxMessages: 500, maxMilliseconds: 20 },
    }));
  return {
    async publish(messages) {
      const t = getTopic();
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
  };
}
