// Convergence property (issue 7): after any seeded history of edits and faults, once quiet, the Firestore mirror equals the calendar exactly.
//
// Replay a failure: the assertion message names `seed` and `path`; run
//   npm run test:soak -- --seed <seed> --path <path>
// or, in this suite, CALSYNC_PROPERTY_SEED=<seed> CALSYNC_PROPERTY_PATH=<path> npx vitest run test/integration/property
// (CALSYNC_PROPERTY_TRACE=1 prints every step). CALSYNC_PROPERTY_RUNS changes the number of histories.
import { Firestore } from '@google-cloud/firestore';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorsMissing, uniqueProjectId, useEmulators } from '../../harness/env.js';
import {
  createPropertyWorld,
  describeDivergence,
  historyArbitrary,
  runHistory,
  type PropertyWorld,
} from '../../property/convergence.js';

const SEED = Number(process.env.CALSYNC_PROPERTY_SEED ?? 20260707);
const RUNS = Number(process.env.CALSYNC_PROPERTY_RUNS ?? 12);
const PATH = process.env.CALSYNC_PROPERTY_PATH;
const TRACE = process.env.CALSYNC_PROPERTY_TRACE ? (l: string) => console.log(l) : undefined;

describe.skipIf(emulatorsMissing() !== '')('convergence under faults (property)', () => {
  let db: Firestore;
  let world: PropertyWorld;

  beforeAll(async () => {
    expect(useEmulators()).toBe(true);
    const projectId = uniqueProjectId('prop');
    db = new Firestore({ projectId, ignoreUndefinedProperties: true });
    await db.doc('warmup/connection').get();
    world = await createPropertyWorld(db, projectId);
  });
  afterAll(async () => {
    await world?.close();
    await db?.terminate();
  });

  it(`mirror == calendar after ${RUNS} seeded histories (seed ${SEED})`, async () => {
    const totals = { histories: 0, faults: 0, ops: 0, deliveries: 0, deadLettered: 0 };
    await fc.assert(
      fc.asyncProperty(historyArbitrary(), async (history) => {
        const r = await runHistory(world, history, {
          seed: SEED,
          ...(TRACE ? { trace: TRACE } : {}),
        });
        totals.histories++;
        totals.faults += r.faults;
        totals.ops += r.ops;
        totals.deliveries += r.deliveries;
        totals.deadLettered += r.deadLettered;
        if (r.error) throw new Error(`history failed to run: ${r.error}`);
        if (r.divergence) throw new Error(`mirror diverged: ${describeDivergence(r.divergence)}`);
      }),
      {
        seed: SEED,
        numRuns: RUNS,
        ...(PATH !== undefined ? { path: PATH } : {}),
        // A failing history is reported as is (seed + path); shrinking it would take minutes here.
        endOnFailure: true,
      },
    );
    console.log(
      `convergence: ${totals.histories} histories, ${totals.ops} operations, ${totals.faults} faults injected, ${totals.deliveries} deliveries (${totals.deadLettered} dead-lettered), 0 divergences`,
    );
  }, 240_000);
});
