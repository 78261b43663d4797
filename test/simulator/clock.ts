// Simulated clock: real time plus an offset that tests move forward with POST /_sim/clock.
export class SimClock {
  private offsetMs = 0;

  /** Milliseconds since the epoch on the simulated clock. */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new Error('advanceMs must be a non-negative number');
    this.offsetMs += ms;
  }

  /** RFC 3339 with milliseconds and `Z`, as Google writes `updated`/`created`. */
  iso(ms: number = this.now()): string {
    return new Date(ms).toISOString();
  }
}
