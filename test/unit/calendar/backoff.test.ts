// Backoff: full-jitter bounds and the per-message budget that stops retries.
import { describe, expect, it } from 'vitest';
import { backoffDelay, RetryBudget, sleep } from '../../../functions/calendar/backoff.js';

describe('backoffDelay', () => {
  const policy = { baseMs: 100, capMs: 1000 };
  it('stays within [0, min(cap, base·2^n))', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(1000, 100 * 2 ** attempt);
      expect(backoffDelay(attempt, policy, () => 0)).toBe(0);
      expect(backoffDelay(attempt, policy, () => 0.999999)).toBeLessThan(ceiling);
      expect(backoffDelay(attempt, policy, () => 0.999999)).toBeGreaterThanOrEqual(ceiling - 1);
    }
  });
  it('is random, not fixed', () => {
    const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(5, policy)));
    expect(seen.size).toBeGreaterThan(10);
  });
});

describe('RetryBudget', () => {
  it('grants pauses until the next one would pass the deadline', () => {
    let now = 0;
    const budget = new RetryBudget(1000, () => now);
    const policy = { baseMs: 400, capMs: 400 };
    const max = () => 0.999;
    expect(budget.nextDelay(0, policy, max)).toBe(399);
    now += 399;
    expect(budget.nextDelay(1, policy, max)).toBe(399);
    now += 399;
    expect(budget.nextDelay(2, policy, max)).toBeUndefined(); // 798 + 399 > 1000
    expect(budget.spent).toBe(798);
  });
  it('a zero budget never retries', () => {
    const budget = new RetryBudget(0, () => 0);
    expect(budget.nextDelay(0, { baseMs: 100, capMs: 100 }, () => 0.5)).toBeUndefined();
  });
});

describe('sleep', () => {
  it('wakes early when aborted', async () => {
    const controller = new AbortController();
    const p = sleep(10_000, controller.signal);
    controller.abort(new Error('stop'));
    // A sleep that ignored the signal would resolve (not reject) after 10 s, past the test timeout.
    await expect(p).rejects.toThrow('stop');
  });
});
