// Runs a request's work outside the Node `domain` functions-framework opens for every request.

/** The two methods of node:domain's Domain this needs (process.domain is not in @types/node). */
interface ActiveDomain {
  enter(): void;
  exit(): void;
}

/**
 * functions-framework runs each request inside a `domain` (function_wrappers.js) so that an
 * uncaught error answers that request with a crash response. Everything created inside a domain is
 * paired with it: each promise and callback records the domain, and each callback enters and
 * leaves it — per document written in a first sync (measured: a 10,000-event first sync's worker CPU
 * 4.1–4.5 s inside the domain, 3.2–3.5 s outside; README "Benchmarks"). Work started through this
 * function creates its promises outside the domain. Its rejections still reach the caller as before;
 * what changes is an exception thrown from a bare callback inside it (a bug): the domain answered
 * only that request with a crash response, now functions-framework's process handler answers it and
 * ends the instance — Pub/Sub redelivers, Google retries, and the write fence (decision 006) keeps a
 * half-done sync harmless. The domain is entered again before this returns, so the framework's own
 * continuation still runs inside it.
 */
export function outsideRequestDomain<T>(fn: () => Promise<T>): Promise<T> {
  const active = (process as { domain?: ActiveDomain | null }).domain;
  if (!active) return fn();
  active.exit();
  try {
    return fn();
  } finally {
    active.enter();
  }
}
