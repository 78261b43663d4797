// Bounded concurrency with a deadline: runs items with at most `limit` in flight and starts none after the deadline.

/** Runs `fn` over `items`; returns how many were never started because `expired()` became true. */
export async function runBounded<T>(
  items: readonly T[],
  limit: number,
  expired: () => boolean,
  fn: (item: T) => Promise<void>,
): Promise<number> {
  let next = 0;
  let skipped = 0;
  const worker = async () => {
    while (next < items.length) {
      if (expired()) {
        skipped += items.length - next;
        next = items.length;
        return;
      }
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return skipped;
}
