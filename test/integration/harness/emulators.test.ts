// The harness's emulators are real: a Firestore write+read and a Pub/Sub publish+pull round trip.
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  emulatorsMissing,
  resetFirestore,
  uniqueProjectId,
  useEmulators,
} from '../../harness/env.js';

describe.skipIf(emulatorsMissing() !== '')('emulator round trips', () => {
  const projectId = uniqueProjectId('harness');
  let db: Firestore;
  let pubsub: PubSub;

  beforeAll(() => {
    expect(useEmulators()).toBe(true);
    db = new Firestore({ projectId });
    pubsub = new PubSub({ projectId });
  });
  afterAll(async () => {
    await db.terminate();
    await pubsub.close();
  });

  it('writes and reads a Firestore document, and the reset endpoint clears it', async () => {
    const ref = db.doc('harness/roundtrip');
    await ref.set({ hello: 'world', n: 1 });
    expect((await ref.get()).data()).toEqual({ hello: 'world', n: 1 });
    await resetFirestore(projectId);
    expect((await ref.get()).exists).toBe(false);
  });

  it('publishes to a topic and pulls the message back', async () => {
    const [topic] = await pubsub.createTopic('roundtrip');
    const [subscription] = await topic.createSubscription('roundtrip-sub');
    const id = await topic.publishMessage({ json: { ping: 1 }, attributes: { kind: 'test' } });
    const received = await new Promise<{ id: string; data: unknown; kind?: string }>(
      (resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no message within 10 s')), 10_000);
        subscription.on('message', (m) => {
          clearTimeout(timer);
          m.ack();
          resolve({ id: m.id, data: JSON.parse(m.data.toString('utf8')), kind: m.attributes.kind });
        });
      },
    );
    await subscription.close();
    expect(received).toEqual({ id, data: { ping: 1 }, kind: 'test' });
  });
});
