// The change feed publisher on the Pub/Sub emulator: JSON body, attributes, one ordering key per calendar, order kept.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeMessage } from '../../../functions/changes/collect.js';
import { pubsubChangePublisher } from '../../../functions/changes/publisher.js';
import { emulatorsMissing, uniqueProjectId, useEmulators } from '../../harness/env.js';
import { createFeed, drain, type Feed } from './helpers.js';

describe.skipIf(emulatorsMissing() !== '')('change feed publisher', () => {
  const projectId = uniqueProjectId('feed');
  let feed: Feed;

  beforeAll(async () => {
    expect(useEmulators()).toBe(true);
    feed = await createFeed(projectId, 'calendar-changes');
  });
  afterAll(() => feed.pubsub.close());

  it('publishes every message with its calendar as ordering key, in order per calendar', async () => {
    const publisher = pubsubChangePublisher(projectId, feed.topic);
    const messages: ChangeMessage[] = [];
    for (let i = 0; i < 120; i++) {
      messages.push({
        v: 1,
        uid: 'u1',
        calendarId: i % 2 ? 'a@example.com' : 'b@example.com',
        eventId: `e${i}`,
        change: i % 3 === 0 ? 'created' : i % 3 === 1 ? 'updated' : 'deleted',
        updated: null,
        fence: 1,
      });
    }
    await publisher.publish(messages);
    await publisher.close();
    const got = await drain(feed);
    expect(got).toHaveLength(120);
    for (const key of ['u1/a@example.com', 'u1/b@example.com']) {
      const sent = messages.filter((m) => `${m.uid}/${m.calendarId}` === key).map((m) => m.eventId);
      expect(got.filter((r) => r.orderingKey === key).map((r) => r.message.eventId)).toEqual(sent);
    }
    // Order holds per ordering key only: find the first message by its event id.
    const first = got.find((r) => r.message.eventId === 'e0')!;
    expect(first.attributes).toEqual({
      uid: 'u1',
      calendarId: 'b@example.com',
      change: 'created',
    });
    expect(first.message).toEqual(messages[0]);
  });
});
