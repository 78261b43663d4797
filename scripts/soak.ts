// `npm run test:soak -- --runs N [--seed S] [--shards K] [--path P] [--trace]`: many convergence histories; prints divergences, how often each fault class took effect, and how to replay a failure.
//
// Every 100 histories the per-class table is printed (a long soak's log keeps honest partial
// figures). SIGINT/SIGTERM end it after the running history (every shard's) with the summary.
//
// `--shards K` runs K child processes against one Firestore emulator, each in its own project
// with its own world (simulator, webhook listener, Firestore lanes), shard i taking seeds
// S+i, S+i+K, …: a history spends most of its time waiting on simulated latency and the
// emulator, so on this 2-core machine 4 shards run about 3× as many histories per hour. The
// seeds are the same as an unsharded run's, so a failure replays with `--seed --path` alone.
import { fork, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { Firestore } from '@google-cloud/firestore';
import fc from 'fast-check';
import { startEmulator, type RunningEmulator } from '../test/harness/emulators.js';
import {
  createPropertyWorld,
  DEFAULT_MAX_STEPS,
  describeDivergences,
  Effects,
  historyArbitrary,
  runHistory,
  type History,
  type HistoryResult,
  type PropertyWorld,
} from '../test/property/convergence.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100' },
    seed: { type: 'string' },
    path: { type: 'string' },
    trace: { type: 'boolean', default: false },
    'max-steps': { type: 'string', default: String(DEFAULT_MAX_STEPS) },
    shards: { type: 'string', default: '1' },
    /** Internal: this process is shard i of --shards (started by the parent). */
    shard: { type: 'string' },
  },
});

const runs = Number(values.runs);
const baseSeed = values.seed !== undefined ? Number(values.seed) : Date.now() % 2_147_483_647;
const maxSteps = Number(values['max-steps']);
const shards = Number(values.shards);
const shard = values.shard !== undefined ? Number(values.shard) : undefined;
if (
  !Number.isInteger(runs) ||
  runs < 1 ||
  !Number.isInteger(baseSeed) ||
  !(maxSteps >= 10) ||
  !Number.isInteger(shards) ||
  shards < 1 ||
  shards > 16 ||
  (shard !== undefined && !(Number.isInteger(shard) && shard >= 0 && shard < shards)) ||
  (shards > 1 && (values.trace || values.path !== undefined))
) {
  console.error(
    'usage: npm run test:soak -- [--runs N] [--seed S] [--shards K (1–16)] [--max-steps M]\n' +
      '       npm run test:soak -- --seed S --path P [--trace]   (replay one history; no --shards)',
  );
  process.exit(2);
}
const t0 = Date.now();
const trace = values.trace
  ? (line: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}] ${line}`)
  : undefined;

/** What one history contributes to the soak (plain data: it crosses the shard's IPC channel). */
interface Outcome {
  seed: number;
  ops: number;
  deliveries: number;
  deadLettered: number;
  events: number;
  drawn: [string, number][];
  effective: [string, number][];
  failure?: { path: string; why: string; history: History };
}

/** Runs the history fast-check draws for `seed` (or replays `path`). */
async function runOne(
  world: PropertyWorld,
  seed: number,
  path?: string,
): Promise<Outcome | undefined> {
  let last: { result: HistoryResult; history: History } | undefined;
  const details = await fc.check(
    fc.asyncProperty(historyArbitrary(maxSteps), async (history) => {
      const result = await runHistory(world, history, trace ? { trace } : {});
      last = { result, history };
      return !result.error && result.divergences.length === 0;
    }),
    { seed, numRuns: 1, endOnFailure: true, ...(path !== undefined ? { path } : {}) },
  );
  if (!last) return undefined;
  const r = last.result;
  const outcome: Outcome = {
    seed,
    ops: r.ops,
    deliveries: r.deliveries,
    deadLettered: r.deadLettered,
    events: r.events,
    drawn: [...r.effects.drawn],
    effective: [...r.effects.effective],
  };
  if (details.failed) {
    const why = r.error
      ? `error: ${r.error}`
      : `divergences:\n  ${describeDivergences(r.divergences)}`;
    outcome.failure = {
      path: details.counterexamplePath ?? path ?? '0',
      why,
      history: last.history,
    };
  }
  return outcome;
}

/** The soak's running totals, fed one outcome at a time (from this process or from shards). */
class Tally {
  readonly effects = new Effects();
  readonly totals = { histories: 0, ops: 0, deliveries: 0, deadLettered: 0, events: 0 };
  readonly failures: (Outcome['failure'] & { seed: number })[] = [];
  private readonly started = Date.now();

  add(o: Outcome): void {
    this.totals.histories++;
    this.totals.ops += o.ops;
    this.totals.deliveries += o.deliveries;
    this.totals.deadLettered += o.deadLettered;
    this.totals.events += o.events;
    const e = new Effects();
    for (const [c, n] of o.drawn) e.drawn.set(c as never, n);
    for (const [c, n] of o.effective) e.effective.set(c as never, n);
    this.effects.add(e);
    if (o.failure) {
      this.failures.push({ seed: o.seed, ...o.failure });
      console.log(`✗ seed ${o.seed} path ${o.failure.path}: ${o.failure.why}`);
    }
    const n = this.totals.histories;
    if (n % 10 === 0) {
      console.log(
        `… ${n}/${runs} histories, ${this.effects.total} faults took effect, ${this.failures.length} diverged (${this.seconds()} s)`,
      );
    }
    if (n % 100 === 0) console.log(`fault classes after ${n}:\n${this.effects.table()}`);
  }

  seconds(): string {
    return ((Date.now() - this.started) / 1000).toFixed(0);
  }

  /** Prints the summary; returns the exit code (issue 13: every class must take effect more than once). */
  report(stopped: boolean): number {
    const replay = values.path !== undefined;
    const missing = replay ? [] : this.effects.missing();
    const once = replay ? [] : this.effects.rare();
    const t = this.totals;
    console.log(
      `\nhistories run: ${t.histories}${stopped ? ` (stopped early; ${runs} asked)` : ''}, operations: ${t.ops}, faults that took effect: ${this.effects.total}, deliveries: ${t.deliveries} (${t.deadLettered} dead-lettered), events at the end: ${t.events}, divergent histories: ${this.failures.length}  [base seed ${baseSeed}, ${shards} shard(s), ${this.seconds()} s]`,
    );
    console.log(`fault classes (effective / drawn):\n${this.effects.table()}`);
    if (missing.length > 0)
      console.log(`\nfault classes that never took effect: ${missing.join(', ')}`);
    if (once.length > 0)
      console.log(`fault classes that took effect only once: ${once.join(', ')}`);
    for (const f of this.failures) {
      console.log(`\nfailing history: seed ${f.seed}, path ${f.path}\n  ${f.why}`);
      console.log(`  history: ${JSON.stringify(f.history)}`);
      const steps = maxSteps === DEFAULT_MAX_STEPS ? '' : ` --max-steps ${maxSteps}`;
      console.log(
        `  replay: npm run test:soak -- --seed ${f.seed} --path ${f.path}${steps} --trace`,
      );
    }
    const incomplete = stopped || t.histories < (replay ? 1 : runs);
    return this.failures.length > 0 || missing.length > 0 || once.length > 0 || incomplete ? 1 : 0;
  }
}

/** Stops after the running history on the first SIGINT/SIGTERM. */
function stopSignal(onStop?: () => void): { readonly stopped: boolean } {
  const state = { stopped: false };
  const on = (signal: string) => {
    if (shard === undefined) console.log(`\n${signal}: stopping after the running history`);
    state.stopped = true;
    onStop?.();
  };
  process.once('SIGINT', on);
  process.once('SIGTERM', on);
  return state;
}

async function withEmulator<T>(body: () => Promise<T>): Promise<T> {
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  let emulator: RunningEmulator | undefined;
  if (!process.env.FIRESTORE_EMULATOR_HOST) {
    emulator = await startEmulator('firestore');
    process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
  }
  try {
    return await body();
  } finally {
    await emulator?.stop();
  }
}

/** One world in this process, running the seeds `select` picks; each outcome goes to `sink`. */
async function runHere(
  seeds: number[],
  sink: (o: Outcome) => void | Promise<void>,
  stop: { readonly stopped: boolean },
): Promise<void> {
  const projectId = `demo-soak-${Date.now().toString(36)}-${shard ?? 0}`;
  const db = new Firestore({ projectId, ignoreUndefinedProperties: true });
  await db.doc('warmup/connection').get();
  const world = await createPropertyWorld(db, projectId);
  trace?.('world ready');
  try {
    if (values.path !== undefined) {
      const o = await runOne(world, baseSeed, values.path);
      if (o) await sink(o);
      return;
    }
    for (const seed of seeds) {
      if (stop.stopped) break;
      const o = await runOne(world, seed);
      if (o) await sink(o);
    }
  } finally {
    await world.close();
    await db.terminate();
  }
}

const allSeeds = Array.from({ length: runs }, (_, i) => baseSeed + i);

/** The parent of a sharded soak: forks the shards, tallies what they send, forwards a stop. */
async function runSharded(tally: Tally): Promise<boolean> {
  const children: ChildProcess[] = [];
  const stop = stopSignal(() => children.forEach((c) => c.kill('SIGINT')));
  const forward = process.argv
    .slice(2)
    .filter((a, i, xs) => a !== '--shards' && xs[i - 1] !== '--shards');
  await Promise.all(
    Array.from(
      { length: shards },
      (_, i) =>
        new Promise<void>((resolve, reject) => {
          const child = fork(
            process.argv[1]!,
            [...forward, '--shards', String(shards), '--shard', String(i)],
            {
              env: process.env,
              stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
            },
          );
          children.push(child);
          child.on('message', (m) => tally.add(m as Outcome));
          child.on('error', reject);
          child.on('exit', (code) =>
            code === 0 ? resolve() : reject(new Error(`shard ${i} exited with ${code}`)),
          );
        }),
    ),
  );
  return stop.stopped;
}

async function main(): Promise<void> {
  if (shard !== undefined) {
    // A shard: its seeds, each outcome sent to the parent; the parent prints everything.
    const stop = stopSignal();
    const mine = allSeeds.filter((_, i) => i % shards === shard);
    const send = (o: Outcome) =>
      new Promise<void>((resolve, reject) =>
        process.send!(o, (err: Error | null) => (err ? reject(err) : resolve())),
      );
    await runHere(mine, send, stop);
    process.exit(0);
    return;
  }
  const tally = new Tally();
  let stopped = false;
  await withEmulator(async () => {
    if (shards > 1) {
      stopped = await runSharded(tally);
    } else {
      const stop = stopSignal();
      await runHere(allSeeds, (o) => tally.add(o), stop);
      stopped = stop.stopped;
    }
  });
  process.exit(tally.report(stopped));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
