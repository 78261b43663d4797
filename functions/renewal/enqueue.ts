// Enqueuing syncs and rolls: the narrow Enqueuer interface (renewal, CLI) and its Pub/Sub implementation on config.topic.
import type { BaseConfig } from '../config.js';
import {
  messageAttributes,
  ResyncMessage,
  RollMessage,
  type ScheduledMessage,
} from '../messages.js';
import { lazyTopic } from '../pubsub-topic.js';

export interface Enqueuer {
  enqueue(message: ScheduledMessage): Promise<void>;
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

/** The day's occurrence roll of one calendar, for the worker (decision 011). */
export function rollMessage(subscriptionId: string, now: number): RollMessage {
  return RollMessage.parse({
    v: 1,
    kind: 'roll',
    subscriptionId,
    requestedAt: new Date(now).toISOString(),
  });
}

/** Publishes to config.topic; the client is made on first use and reused (one per instance). */
export function pubsubEnqueuer(
  config: Pick<BaseConfig, 'projectId' | 'topic' | 'publishTimeoutMs'>,
): ClosableEnqueuer {
  const topic = lazyTopic(config.projectId, config.topic, {
    batching: { maxMessages: 100, maxMilliseconds: 20 },
    gaxOpts: { timeout: config.publishTimeoutMs },
  });
  return {
    async enqueue(message) {
      const t = await topic.get();
      await t.publishMessage({
        data: Buffer.from(JSON.stringify(message), 'utf8'),
        attributes: messageAttributes(message),
      });
    },
    close: () => topic.close(),
  };
}
