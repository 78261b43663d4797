// roll.fanout_*: one renewChannels run in which only the day's occurrence rolls are due — what queueing them for the worker (decision 011) costs the hourly run per calendar.
import { Firestore } from '@google-cloud/firestore';
import { subscriptionIdFor } from '../../functions/ids.js';
import { paths } from '../../functions/store/schema.js';
import { dueForRollOnly } from '../harness/subscription-docs.js';
import { startLocalStack } from '../stack/local-stack.js';
import { round, stopFunctionsGently, type BenchContext, type BenchResult } from './lib.js';
import { postLong } from './renewal.js';

export async function benchRollFanOut(ctx: BenchContext): Promise<BenchResult> {
  const m = ctx.quick ? 2_000 : 10_000;
  const stack = await startLocalStack({
    targets: ['renewChannels'],
    build: false,
    env: { CALSYNC_LOG_LEVEL: 'WARNING' },
  });
  const db = new Firestore({ projectId: stack.projectId });
  try {
    return await rollsDue(ctx, stack.urls.renewChannels, db, m);
  } finally {
    await db.terminate();
    await stopFunctionsGently(stack);
    await stack.stop();
  }
}

/**
 * A renewChannels run in which only the day's rolls are due: `m` calendars with fresh
 * channels, synced now, rolled yesterday (seeded straight into Firestore, no Google user needed).
 * Its time per calendar is what the roll costs the hourly run now that the worker rolls (decision 011).
 */
async function rollsDue(
  ctx: BenchContext,
  url: string,
  db: Firestore,
  m: number,
): Promise<BenchResult> {
  const now = Date.now();
  for (let i = 0; i < m; i += 500) {
    const batch = db.batch();
    for (let j = i; j < Math.min(m, i + 500); j++) {
      const email = `f${j}@fanout.calsync.test`;
      batch.set(
        db.doc(paths.subscription(subscriptionIdFor(`f${j}`, email))),
        dueForRollOnly(`f${j}`, email, `fan-${j}`, now, 6),
      );
    }
    await batch.commit();
  }
  ctx.log(`roll fan-out: one renewChannels run with ${m} rolls due`);
  const t0 = performance.now();
  const res = await postLong(url, 900_000);
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`renewChannels answered ${res.status}`);
  const summary = JSON.parse(res.body) as { occurrenceRollsEnqueued: number; failed: unknown[] };
  const perCalendar = ms / Math.max(1, summary.occurrenceRollsEnqueued);
  return {
    values: {
      'roll.fanout_calendars': summary.occurrenceRollsEnqueued,
      'roll.fanout_ms_per_calendar': round(perCalendar, 2),
    },
    notes: [
      `roll fan-out: the run queued ${summary.occurrenceRollsEnqueued} roll messages (of ${m} due) in ${round(ms / 1000, 1)} s, failed ${summary.failed.length}: ${round(1000 / perCalendar, 0)} calendars/s; 75,000 due would take ${round((75_000 * perCalendar) / 1000, 0)} s of a 480 s run`,
    ],
  };
}
