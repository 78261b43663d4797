// Bounded concurrency: run an async function over items, a few at a time, stopping cleanly at the first failure.

/**
 * Runs `fn` over `items`, at most `limit` at once. After the first failure no new item starts; the
 * ones already running are awaited, then the first error is rethrown.
 */
export async function runLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length && !failure) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  });
  await Promise.all(workers);
  if (failure) throw failure.err;
}
