// Unit: bounded concurrency with a deadline, and the resync messages the renewal enqueues.
import { describe, expect, it } from 'vitest';
import { resyncMessage, rollMessage } from '../../../functions/renewal/enqueue.js';
import { runBounded } from '../../../functions/renewal/pool.js';
import { messageAttributes, parseSyncMessage } from '../../../functions/messages.js';

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

describe('rollMessage', () => {
  it('builds a roll the worker parses, with the attributes a subscription filter would use', () => {
    const m = rollMessage('s_AAAAAAAAAAAAAAAAAAAAAAAA', Date.parse('2030-01-01T00:00:00Z'));
    const parsed = parseSyncMessage(JSON.parse(JSON.stringify(m)));
    expect(parsed).toEqual({
      v: 1,
      kind: 'roll',
      subscriptionId: 's_AAAAAAAAAAAAAAAAAAAAAAAA',
      requestedAt: '2030-01-01T00:00:00.000Z',
    });
    expect(messageAttributes(parsed)).toEqual({
      kind: 'roll',
      subscriptionId: 's_AAAAAAAAAAAAAAAAAAAAAAAA',
    });
  });

  it('a roll without its subscription, or of another message version, is refused', () => {
    expect(() =>
      parseSyncMessage({ v: 1, kind: 'roll', requestedAt: '2030-01-01T00:00:00Z' }),
    ).toThrow();
    expect(() =>
      parseSyncMessage({
        v: 2,
        kind: 'roll',
        subscriptionId: 's',
        requestedAt: '2030-01-01T00:00:00Z',
      }),
    ).toThrow();
  });
});
