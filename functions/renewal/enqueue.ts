// Enqueuing syncs: the narrow Enqueuer interface (renewal, CLI) and its Pub/Sub implementation on config.topic.
import type { Topic } from '@google-cloud/pubsub';
import type { BaseConfig } from '../config.js';
import { messageAttributes, ResyncMessage } from '../messages.js';

export interface Enqueuer {
  enqueue(message: ResyncMessage): Promise<void>;
}

export interface ClosableEnqueuer extends Enqueuer {
  close(): Promise<void>;
}

export function resyncMessage(
  subscriptionId: string,
  reason: ResyncMessage['reason'],
  now: number,
  full = false,
): ResyncMessage {
  return ResyncMessage.parse({
    v: 1,
    kind: 'resync',
    subscriptionId,
    reason,
    full,
    requestedAt: new Date(now).toISOString(),
  });
}

/** Publishes to config.topic; the client is made on first use and reused (one per instance). */
export function pubsubEnqueuer(
  config: Pick<BaseConfig, 'projectId' | 'topic' | 'publishTimeoutMs'>,
): ClosableEnqueuer {
  let topic: Promise<Topic> | undefined;
  const getTopic = (): Promise<Topic> => {
    topic ??= import('@google-cloud/pubsub').then(({ PubSub }) =>
      // The client finds PUBSUB_EMULATOR_HOST by itself.
      new PubSub({ projectId: config.projectId }).topic(config.topic, {
        batching: { maxMessages: 100, maxMilliseconds: 20 },
        gaxOpts: { timeout: config.publishTimeoutMs },
      }),
    );
    topic.catch(() => {
      topic = undefined;
    });
    return topic;
  };
  return {
    async enqueue(message) {
      const t = await getTopic();
      await t.publishMessage({
        data: Buffer.from(JSON.stringify(message), 'utf8'),
        attributes: messageAttributes(message),
      });
    },
    async close() {
      if (!topic) return;
      const t = await topic;
      await t.flush();
      await t.pubsub.close();
    },
  };
}
