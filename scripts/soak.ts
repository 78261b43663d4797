// `npm run test:soak -- --runs N [--seed S] [--path P] [--trace]`: many convergence histories; prints runs, faults, divergences and how to replay a failure.
import { parseArgs } from 'node:util';
import { Firestore } from '@google-cloud/firestore';
import fc from 'fast-check';
import { startEmulator, type RunningEmulator } from '../test/harness/emulators.js';
import {
  createPropertyWorld,
  describeDivergence,
  historyArbitrary,
  runHistory,
  type History,
  type HistoryResult,
} from '../test/property/convergence.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100' },
    seed: { type: 'string' },
    path: { type: 'string' },
    trace: { type: 'boolean', default: false },
    'max-steps': { type: 'string', default: '60' },
  },
});

const runs = Number(values.runs);
const baseSeed = values.seed !== undefined ? Number(values.seed) : Date.now() % 2_147_483_647;
const maxSteps = Number(values['max-steps']);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(baseSeed) || !(maxSteps >= 5)) {
  console.error(
    'usage: npm run test:soak -- [--runs N] [--seed S] [--path P] [--max-steps M] [--trace]',
  );
  process.exit(2);
}
const trace = values.trace ? (line: string) => console.log(line) : undefined;

async function main(): Promise<void> {
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  let emulator: RunningEmulator | undefined;
  if (!process.env.FIRESTORE_EMULATOR_HOST) {
    emulator = await startEmulator('firestore');
    process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
  }
  const projectId = `demo-soak-${Date.now().toString(36)}`;
  const db = new Firestore({ projectId, ignoreUndefinedProperties: true });
  await db.doc('warmup/connection').get();
  const world = await createPropertyWorld(db, projectId);
  const totals = { histories: 0, ops: 0, faults: 0, deliveries: 0, deadLettered: 0 };
  const failures: { seed: number; path: string; why: string; history: History }[] = [];
  const started = Date.now();

  /** One fast-check run; the property records the result and fails on divergence. */
  const check = async (seed: number, path?: string) => {
    let last: { result: HistoryResult; history: History } | undefined;
    const details = await fc.check(
      fc.asyncProperty(historyArbitrary(maxSteps), async (history) => {
        const result = await runHistory(world, history, { seed, ...(trace ? { trace } : {}) });
        last = { result, history };
        return !result.error && !result.divergence;
      }),
      { seed, numRuns: 1, endOnFailure: true, ...(path !== undefined ? { path } : {}) },
    );
    if (last) {
      totals.histories++;
      totals.ops += last.result.ops;
      totals.faults += last.result.faults;
      totals.deliveries += last.result.deliveries;
      totals.deadLettered += last.result.deadLettered;
    }
    if (details.failed && last) {
      const why = last.result.error
        ? `error: ${last.result.error}`
        : `divergence: ${describeDivergence(last.result.divergence!)}`;
      failures.push({
        seed,
        path: details.counterexamplePath ?? path ?? '0',
        why,
        history: last.history,
      });
      console.log(`✗ seed ${seed} path ${details.counterexamplePath ?? path ?? '0'}: ${why}`);
    }
  };

  try {
    if (values.path !== undefined) {
      await check(baseSeed, values.path);
    } else {
      for (let i = 0; i < runs; i++) {
        await check(baseSeed + i);
        if ((i + 1) % 10 === 0) {
          console.log(
            `… ${i + 1}/${runs} histories, ${totals.faults} faults, ${failures.length} divergences (${((Date.now() - started) / 1000).toFixed(0)} s)`,
          );
        }
      }
    }
  } finally {
    await world.close();
    await db.terminate();
    await emulator?.stop();
  }

  console.log(
    `\nhistories run: ${totals.histories}, operations: ${totals.ops}, faults injected: ${totals.faults}, deliveries: ${totals.deliveries} (${totals.deadLettered} dead-lettered), divergences: ${failures.length}  [base seed ${baseSeed}, ${((Date.now() - started) / 1000).toFixed(0)} s]`,
  );
  for (const f of failures) {
    console.log(`\nfailing history: seed ${f.seed}, path ${f.path}\n  ${f.why}`);
    console.log(`  steps: ${JSON.stringify(f.history)}`);
    console.log(`  replay: npm run test:soak -- --seed ${f.seed} --path ${f.path} --trace`);
  }
  process.exit(failures.length > 0 ? 1 : 0);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
