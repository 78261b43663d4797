// Unit: bounded concurrency with a deadline, and the resync messages the renewal enqueues.
import { describe, expect, it } from 'vitest';
import { resyncMessage } from '../../../functions/renewal/enqueue.js';
import { runBounded } from '../../../functions/renewal/pool.js';
import { parseSyncMessage } from '../../../functions/messages.js';

describe('runBounded', () => {
  it('never runs more than the limit at once', async () => {
    let inFlight = 0;
    let peak = 0;
    const done: number[] = [];
    const skipped = await runBounded(
      [...Array(40).keys()],
      5,
      () => false,
      async (i) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 1));
        inFlight--;
        done.push(i);
      },
    );
    expect(skipped).toBe(0);
    expect(peak).toBe(5);
    expect(done).toHaveLength(40);
  });

  it('starts nothing after the deadline and reports how many were left', async () => {
    let started = 0;
    const skipped = await runBounded(
      [...Array(10).keys()],
      2,
      () => started >= 4,
      async () => {
        started++;
      },
    );
    expect(started).toBe(4);
    expect(skipped).toBe(6);
  });
});

describe('resyncMessage', () => {
  it('builds a valid message for the worker', () => {
    const m = resyncMessage(
      's_AAAAAAAAAAAAAAAAAAAAAAAA',
      'recovery',
      Date.parse('2030-01-01T00:00:00Z'),
    );
    expect(parseSyncMessage(JSON.parse(JSON.stringify(m)))).toEqual({
      v: 1,
      kind: 'resync',
      subscriptionId: 's_AAAAAAAAAAAAAAAAAAAAAAAA',
      reason: 'recovery',
      full: false,
      requestedAt: '2030-01-01T00:00:00.000Z',
    });
  });
});
