// syncWorker's CloudEvent decoding: base64 JSON body, publish time and message id, garbage tolerated.
import { describe, expect, it } from 'vitest';
import { decodePubSubData, toIncoming } from '../../../functions/worker/function.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');
const event = (data: unknown) =>
  ({
    specversion: '1.0',
    id: '1',
    source: 's',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    data,
  }) as const;

describe('Pub/Sub CloudEvent decoding', () => {
  it('decodes data, messageId and publishTime', () => {
    const incoming = toIncoming(
      event({
        message: {
          data: b64({ v: 1, kind: 'resync' }),
          messageId: '42',
          publishTime: '2026-01-01T00:00:00Z',
        },
        subscription: 'x',
      }),
    );
    expect(incoming).toEqual({
      data: { v: 1, kind: 'resync' },
      messageId: '42',
      publishTime: '2026-01-01T00:00:00Z',
    });
  });
  it('turns anything odd into undefined data (reported as malformed by the core)', () => {
    expect(decodePubSubData(undefined)).toBeUndefined();
    expect(decodePubSubData('%%%')).toBeUndefined();
    expect(decodePubSubData(Buffer.from('not json').toString('base64'))).toBeUndefined();
    expect(toIncoming(event(undefined))).toEqual({ data: undefined });
    expect(toIncoming(event('text'))).toEqual({ data: undefined });
    expect(toIncoming(event({ message: { data: 5, messageId: 7 } }))).toEqual({ data: undefined });
  });
});
