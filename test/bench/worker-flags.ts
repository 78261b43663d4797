// The sync worker's Node flags as infra/functions.tf deploys them (test/unit/infra holds them equal); the memory benchmark runs the worker with them.

/**
 * V8's old-generation cap for the worker. CALSYNC_BENCH_WORKER_NODE_OPTIONS overrides it in the
 * bench (e.g. ' ' to measure V8's own defaults).
 */
export const WORKER_NODE_OPTIONS = '--max-old-space-size=192';
