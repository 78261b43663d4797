// Simulated clock: real time plus an offset that tests move forward with POST /_sim/clock; waits
// on it end when real time or a clock jump reaches their moment.

interface Waiter {
  at: number;
  resolve: () => void;
  timer?: NodeJS.Timeout;
}

export class SimClock {
  private offsetMs = 0;
  private readonly waiters = new Set<Waiter>();

  /** Milliseconds since the epoch on the simulated clock. */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new Error('advanceMs must be a non-negative number');
    this.offsetMs += ms;
    for (const w of this.waiters) this.arm(w);
  }

  /** RFC 3339 with milliseconds and `Z`, as Google writes `updated`/`created`. */
  iso(ms: number = this.now()): string {
    return new Date(ms).toISOString();
  }

  /**
   * Resolves once the simulated clock reads `at` (real time passing, or advance()). `cancel`
   * resolves it at once (used when the simulator closes).
   */
  until(at: number): { done: Promise<void>; cancel: () => void } {
    let waiter!: Waiter;
    const done = new Promise<void>((resolve) => {
      waiter = { at, resolve };
    });
    this.waiters.add(waiter);
    this.arm(waiter);
    return { done, cancel: () => this.fire(waiter) };
  }

  private arm(w: Waiter): void {
    if (w.timer) clearTimeout(w.timer);
    const left = w.at - this.now();
    if (left <= 0) this.fire(w);
    else w.timer = setTimeout(() => this.arm(w), left);
  }

  private fire(w: Waiter): void {
    if (w.timer) clearTimeout(w.timer);
    if (this.waiters.delete(w)) w.resolve();
  }
}
