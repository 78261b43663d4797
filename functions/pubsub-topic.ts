// One Pub/Sub topic per instance, loaded lazily: the client (gRPC, google-gax) is imported on first use, never at module load.
import type { PublishOptions, Topic } from '@google-cloud/pubsub';

export interface LazyTopic {
  /** The topic, loading the client on the first call; a failed load is tried again on the next. */
  get(): Promise<Topic>;
  /** Flushes and closes the client, if it was ever loaded (tests, graceful shutdown). */
  close(): Promise<void>;
}

/** Health checks and the other targets of the same entry point never pay for the client. */
export function lazyTopic(
  projectId: string,
  topicName: string,
  options: PublishOptions,
): LazyTopic {
  let topic: Promise<Topic> | undefined;
  return {
    get() {
      topic ??= import('@google-cloud/pubsub').then(({ PubSub }) =>
        // The client finds PUBSUB_EMULATOR_HOST by itself; no test branch here.
        new PubSub({ projectId }).topic(topicName, options),
      );
      topic.catch(() => {
        topic = undefined; // try again on the next call
      });
      return topic;
    },
    async close() {
      if (!topic) return;
      const t = await topic;
      await t.flush();
      await t.pubsub.close();
    },
  };
}
