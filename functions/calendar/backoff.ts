// Exponential backoff with full jitter inside a per-message time budget.

export interface BackoffPolicy {
  /** First step's ceiling in ms (the delay is uniform in [0, ceiling)). */
  baseMs: number;
  /** Largest ceiling (CALENDAR-API.md: capped at 32–64 s). */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 32_000 };

/** Full jitter (AWS architecture blog): uniform in [0, min(cap, base · 2^attempt)). */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}

/**
 * A budget shared by every call made for one message: retries stop when the next pause would end
 * after the deadline, so a message never spends more than `budgetMs` sleeping.
 */
export class RetryBudget {
  private readonly deadline: number;
  private spentMs = 0;

  constructor(
    readonly budgetMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.deadline = now() + budgetMs;
  }

  /** The pause to take before the next try, or undefined when the budget does not allow one. */
  nextDelay(attempt: number, policy: BackoffPolicy, random: () => number): number | undefined {
    const delay = backoffDelay(attempt, policy, random);
    if (this.now() + delay > this.deadline) return undefined;
    this.spentMs += delay;
    return delay;
  }

  /** Total ms granted to pauses so far. */
  get spent(): number {
    return this.spentMs;
  }
}

/** Sleeps `ms`, waking early (rejecting) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
