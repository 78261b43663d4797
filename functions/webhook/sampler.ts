// Log sampling for the webhook's rejections: a flood of bad requests costs a bounded number of log lines per reason and minute.

export interface SampleDecision {
  /** Whether to write this line. */
  readonly log: boolean;
  /**
   * On the first line of a window: how many lines of the same key were not written in the
   * previous window (so the count survives sampling); 0 otherwise.
   */
  readonly suppressed: number;
  /** True on the line that reaches the limit: later lines of this window are only counted. */
  readonly limitReached: boolean;
}

export type Sampler = (key: string) => SampleDecision;

/** Keys are a small fixed set (rejection reasons); past this many the table is reset (memory bound). */
const MAX_KEYS = 256;

/**
 * Keeps `perWindow` lines per key and `windowMs`; the rest are counted and the count is reported
 * on the key's first line of the next window. Per instance, no I/O.
 */
export function createSampler(
  perWindow: number,
  windowMs = 60_000,
  now: () => number = Date.now,
): Sampler {
  const limit = Math.max(1, Math.floor(perWindow));
  const windows = new Map<string, { start: number; logged: number; suppressed: number }>();
  return (key) => {
    const t = now();
    let w = windows.get(key);
    let carried = 0;
    if (!w || t - w.start >= windowMs) {
      carried = w?.suppressed ?? 0;
      if (!w && windows.size >= MAX_KEYS) windows.clear();
      w = { start: t, logged: 0, suppressed: 0 };
      windows.set(key, w);
    }
    if (w.logged >= limit) {
      w.suppressed++;
      return { log: false, suppressed: 0, limitReached: false };
    }
    w.logged++;
    return { log: true, suppressed: carried, limitReached: w.logged === limit };
  };
}
