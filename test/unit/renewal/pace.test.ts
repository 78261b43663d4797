// startPacer: renewal starts that call Google are spaced 1000 / perSecond ms apart, in call order, on an injected clock.
import { describe, expect, it } from 'vitest';
import { startPacer } from '../../../functions/renewal/pace.js';

function fakeClock() {
  let t = 1_000_000;
  const slept: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      slept.push(ms);
      t += ms;
    },
    slept,
    advance: (ms: number) => void (t += ms),
  };
}

describe('startPacer', () => {
  it('lets the first caller start at once and spaces the next ones', async () => {
    const c = fakeClock();
    const pace = startPacer(40, c.now, c.sleep);
    const starts: number[] = [];
    for (let i = 0; i < 5; i++) {
      await pace();
      starts.push(c.now());
    }
    expect(starts.map((s) => s - starts[0]!)).toEqual([0, 25, 50, 75, 100]);
  });

  it('gives concurrent callers distinct slots', async () => {
    const t = 0;
    const wakes: number[] = [];
    const pace = startPacer(
      10,
      () => t,
      async (ms) => void wakes.push(t + ms),
    );
    await Promise.all([pace(), pace(), pace(), pace()]);
    expect(wakes).toEqual([100, 200, 300]); // the first started without waiting
  });

  it('does not bank unused slots: after a quiet spell the next caller starts at once, then spaced again', async () => {
    const c = fakeClock();
    const pace = startPacer(20, c.now, c.sleep);
    await pace();
    c.advance(10_000);
    await pace();
    await pace();
    expect(c.slept).toEqual([50]);
  });
});
