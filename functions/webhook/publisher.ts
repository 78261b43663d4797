// Pub/Sub adapter for the webhook's Publisher: one client per instance, loaded on first publish, tiny batches.
import type { WebhookConfig } from '../config.js';
import { lazyTopic } from '../pubsub-topic.js';
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
  const topic = lazyTopic(config.projectId, config.topic, {
    batching: BATCHING,
    gaxOpts: { timeout: rpcTimeoutMs(config.publishTimeoutMs) },
  });
  return {
    async ready() {
      await topic.get();
    },
    async publish(message, attributes) {
      const t = await topic.get();
      return t.publishMessage({ data: Buffer.from(JSON.stringify(message), 'utf8'), attributes });
    },
    close: () => topic.close(),
  };
}
