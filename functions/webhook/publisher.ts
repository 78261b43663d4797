// Pub/Sub adapter for the webhook's Publisher: one client per instance, loaded on first publish, tiny batches.
import type { Topic } from '@google-cloud/pubsub';
import type { WebhookConfig } from '../config.js';
import type { Publisher } from './handler.js';

export interface ClosablePublisher extends Publisher {
  /** Flushes and closes the client (tests, graceful shutdown). */
  close(): Promise<void>;
}

/** Batching tuned for latency: Google waits for our answer, so never hold a message long. */
export const BATCHING = { maxMessages: 100, maxMilliseconds: 5 } as const;

/**
 * The client library gives up (retries included) a little before the webhook's own deadline, so
 * that once the webhook has answered 503 no publish of that request is still being retried in the
 * background (which would turn Google's retry into a duplicate). The webhook starts its clock once
 * the client is loaded (`ready()`), so both deadlines start together.
 */
export function rpcTimeoutMs(publishTimeoutMs: number): number {
  return Math.max(50, Math.floor(publishTimeoutMs * 0.8));
}

export function pubsubPublisher(
  config: Pick<WebhookConfig, 'projectId' | 'topic' | 'publishTimeoutMs'>,
): ClosablePublisher {
  // @google-cloud/pubsub (gRPC, google-gax) is loaded on the first publish, not at module load:
  // health checks and the other targets registered by the same entry point never pay for it.
  let topic: Promise<Topic> | undefined;
  const getTopic = (): Promise<Topic> => {
    topic ??= import('@google-cloud/pubsub').then(({ PubSub }) =>
      // The client finds PUBSUB_EMULATOR_HOST by itself; no test branch here.
      new PubSub({ projectId: config.projectId }).topic(config.topic, {
        batching: BATCHING,
        gaxOpts: { timeout: rpcTimeoutMs(config.publishTimeoutMs) },
      }),
    );
    topic.catch(() => {
      topic = undefined; // try again on the next request
    });
    return topic;
  };
  return {
    async ready() {
      await getTopic();
    },
    async publish(message, attributes) {
      const t = await getTopic();
      return t.publishMessage({ data: Buffer.from(JSON.stringify(message), 'utf8'), attributes });
    },
    async close() {
      if (!topic) return;
      const t = await topic;
      await t.flush();
      await t.pubsub.close();
    },
  };
}
