// Change feed test helpers: a topic with an ordered pull subscription on the Pub/Sub emulator, and pulling it dry.
import { PubSub, type Subscription } from '@google-cloud/pubsub';
import type { ChangeMessage } from '../../../functions/changes/collect.js';

export interface Feed {
  pubsub: PubSub;
  topic: string;
  subscription: Subscription;
}

export async function createFeed(projectId: string, name: string): Promise<Feed> {
  const pubsub = new PubSub({ projectId });
  const [topic] = await pubsub.createTopic(name);
  const [subscription] = await topic.createSubscription(`${name}-sub`, {
    enableMessageOrdering: true,
  });
  return { pubsub, topic: name, subscription };
}

export interface Received {
  message: ChangeMessage;
  orderingKey: string;
  attributes: Record<string, string>;
}

/** Pulls until `quietMs` pass without a new message; acknowledges everything. */
export async function drain(feed: Feed, quietMs = 1500): Promise<Received[]> {
  const out: Received[] = [];
  await new Promise<void>((resolve, reject) => {
    let timer = setTimeout(done, quietMs);
    function done() {
      feed.subscription.removeListener('message', onMessage);
      feed.subscription.removeListener('error', onError);
      feed.subscription.close().then(resolve, reject);
    }
    function onError(err: Error) {
      clearTimeout(timer);
      reject(err);
    }
    function onMessage(m: {
      data: Buffer;
      orderingKey?: string;
      attributes: Record<string, string>;
      ack(): void;
    }) {
      out.push({
        message: JSON.parse(m.data.toString('utf8')) as ChangeMessage,
        orderingKey: m.orderingKey ?? '',
        attributes: m.attributes,
      });
      m.ack();
      clearTimeout(timer);
      timer = setTimeout(done, quietMs);
    }
    feed.subscription.on('message', onMessage);
    feed.subscription.on('error', onError);
  });
  return out;
}
