// Webhook benchmark baseline: the naive handler — Google's publish sample shape, one awaited publish per request on a fresh default Topic.
import type { HttpFunction } from '@google-cloud/functions-framework';
import { PubSub } from '@google-cloud/pubsub';

const pubsub = new PubSub({ projectId: process.env.GOOGLE_CLOUD_PROJECT });
const topicName = process.env.CALSYNC_TOPIC ?? 'calendar-notifications';

export const naive: HttpFunction = async (req, res) => {
  try {
    const data = Buffer.from(
      JSON.stringify({
        channelId: req.get('x-goog-channel-id'),
        state: req.get('x-goog-resource-state'),
        messageNumber: req.get('x-goog-message-number'),
      }),
    );
    await pubsub.topic(topicName).publishMessage({ data });
    res.status(204).end();
  } catch {
    res.status(503).end();
  }
};
