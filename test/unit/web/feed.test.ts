// The live page's feed: which function log lines become feed items, and what they carry.
import { describe, expect, it } from 'vitest';
import { feedItemOf } from '../../../web/server/feed.js';

const line = (entry: Record<string, unknown>) => JSON.stringify(entry);

describe('feedItemOf', () => {
  it('turns a published notification into a notification item', () => {
    const item = feedItemOf(
      'webhook',
      line({
        severity: 'INFO',
        message: 'notification published',
        state: 'exists',
        messageNumber: 7,
        publishMs: 38,
      }),
      1000,
    );
    expect(item).toEqual({
      kind: 'notification',
      at: 1000,
      state: 'exists',
      messageNumber: 7,
      publishMs: 38,
    });
  });

  it("turns the channel's sync confirmation into a notification item without a publish time", () => {
    const item = feedItemOf(
      'webhook',
      line({
        severity: 'INFO',
        message: 'channel confirmed (sync)',
        state: 'sync',
        messageNumber: 1,
      }),
      5,
    );
    expect(item).toMatchObject({
      kind: 'notification',
      state: 'sync',
      messageNumber: 1,
      publishMs: null,
    });
  });

  it("turns the worker's sync line into a delta item", () => {
    const item = feedItemOf(
      'syncWorker',
      line({
        severity: 'INFO',
        message: 'sync',
        full: false,
        pages: 1,
        items: 2,
        writes: 1,
        deletes: 1,
        occurrenceWrites: 3,
        occurrenceDeletes: 1,
        durationMs: 599,
      }),
      9,
    );
    expect(item).toEqual({
      kind: 'delta',
      at: 9,
      full: false,
      pages: 1,
      items: 2,
      writes: 1,
      deletes: 1,
      occurrenceWrites: 3,
      occurrenceDeletes: 1,
      durationMs: 599,
    });
  });

  it('passes warnings and errors on, and nothing else', () => {
    expect(
      feedItemOf('syncWorker', line({ severity: 'WARNING', message: 'lease lost' }), 1),
    ).toEqual({
      kind: 'problem',
      at: 1,
      target: 'syncWorker',
      severity: 'WARNING',
      message: 'lease lost',
    });
    expect(feedItemOf('webhook', line({ severity: 'INFO', message: 'request' }))).toBeUndefined();
    expect(feedItemOf('webhook', 'Serving function...')).toBeUndefined();
    expect(feedItemOf('webhook', '42')).toBeUndefined();
  });
});
