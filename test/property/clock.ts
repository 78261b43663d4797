// The world clock: one simulated time that the simulator, the workers, leases, the webhook and renewal all read; only the history moves it forward.
import type { SimulatorClient } from '../simulator/client.js';

/**
 * Simulated time = real time + an offset the simulator keeps (its `/_sim/clock`). Every component
 * of a history gets `now` from here, so a jump (a lease expiring under a stalled worker, a channel
 * reaching its expiry) happens for all of them at once.
 */
export class WorldClock {
  private offset = 0;

  private constructor(private readonly simc: SimulatorClient) {}

  static async of(simc: SimulatorClient): Promise<WorldClock> {
    const clock = new WorldClock(simc);
    clock.offset = (await simc.now()) - Date.now();
    return clock;
  }

  readonly now = (): number => Date.now() + this.offset;

  async advance(ms: number): Promise<void> {
    if (ms <= 0) return;
    this.offset = (await this.simc.advanceClock(Math.ceil(ms))) - Date.now();
  }

  /** Moves the clock to `at` if it is in the future. */
  async advanceTo(at: number): Promise<void> {
    await this.advance(at - this.now());
  }
}
