// Convergence property: seeded histories of calendar edits on several calendars, interleaved with faults on a world clock, run in-process against the simulator and the Firestore emulator.
//
// Replaying a failing history: the failure names `seed` and `path` (fast-check). Then
//   npm run test:soak -- --seed <seed> --path <path> --trace
// replays exactly that history: its steps, the simulator's seed and the latency draws are all
// part of the history. The default suite (test/integration/property/convergence.test.ts) honours
// CALSYNC_PROPERTY_SEED / CALSYNC_PROPERTY_PATH / CALSYNC_PROPERTY_RUNS; CALSYNC_PROPERTY_TRACE=1
// prints every step (=2 adds calsync's own log lines).
//
// What runs for real: the Calendar API simulator over HTTP (notifications POSTed to a real HTTP
// listener), the webhook core (`handleWebhook`), the worker core (`handleSyncMessage`), the
// renewal core (`renewChannelsCore`), `calsync connect --all`'s core and the Firestore emulator
// (through gRPC proxies that add latency and can hold one worker's writes). Pub/Sub is an in-test
// queue (test/property/pubsub.ts) with the production retry policy and dead-letter limit.
export { createPropertyWorld, type PropertyWorld } from './world.js';
export { DEFAULT_MAX_STEPS, historyArbitrary, type History } from './history.js';
export { runHistory, type HistoryResult } from './run.js';
export { Effects, FAULT_CLASSES } from './effects.js';
import type { Divergence } from './checks.js';
export type { Divergence };

/** Divergences grouped by calendar and kind, a few of each. */
export function describeDivergences(ds: readonly Divergence[]): string {
  const groups = new Map<string, string[]>();
  for (const d of ds) {
    const key = `${d.calendar} ${d.kind}`;
    groups.set(key, [...(groups.get(key) ?? []), d.detail]);
  }
  return [...groups]
    .map(
      ([key, xs]) =>
        `${key} (${xs.length}): ${xs.slice(0, 4).join('; ')}${xs.length > 4 ? '; …' : ''}`,
    )
    .join('\n  ');
}
