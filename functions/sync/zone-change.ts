// A calendar's time zone changed: all-day events' startAt/endAt and the occurrence view are recomputed (Google sends no event delta for it).
import { FieldPath, Timestamp, type DocumentSnapshot } from '@google-cloud/firestore';
import { rebuildOccurrences } from '../occurrences/rebuild.js';
import { windowFor } from '../occurrences/pass.js';
import { commitFenced, MAX_FENCED_BATCH } from '../store/fence.js';
import { paths } from '../store/schema.js';
import { eventTimes } from '../time/event-times.js';
import type { RunContext } from './context.js';

const PAGE = MAX_FENCED_BATCH;

const millisOf = (v: unknown) => (v instanceof Timestamp ? v.toMillis() : undefined);

/**
 * Rewrites startAt/endAt of every all-day event (midnight in the calendar's zone) whose value
 * moved, then reconciles the whole occurrence view in the new zone. Fenced like every sync write.
 */
export async function recomputeForZone(
  ctx: RunContext,
  timeZone: string,
  previous: string,
): Promise<{ writes: number }> {
  const { deps, cal, keeper } = ctx;
  const events = deps.db.collection(paths.events(cal.uid, cal.calendarId));
  const allDay = events
    .where('start.date', '>', '')
    .orderBy('start.date')
    .orderBy(FieldPath.documentId());
  let writes = 0;
  let after: DocumentSnapshot | undefined;
  for (;;) {
    await keeper.ensure();
    const query = (after ? allDay.startAfter(after) : allDay)
      .select('start', 'end', 'startAt', 'endAt')
      .limit(PAGE);
    const snap = await query.get();
    const batch = keeper.fence.batch();
    let n = 0;
    for (const doc of snap.docs) {
      const times = eventTimes({ start: doc.get('start'), end: doc.get('end') }, timeZone);
      if (
        millisOf(doc.get('startAt')) === times.startAt &&
        millisOf(doc.get('endAt')) === times.endAt
      )
        continue;
      batch.update(doc.ref, {
        startAt: times.startAt === undefined ? null : Timestamp.fromMillis(times.startAt),
        endAt: times.endAt === undefined ? null : Timestamp.fromMillis(times.endAt),
      });
      n++;
    }
    if (n > 0) await commitFenced(keeper.fence, batch);
    writes += n;
    if (snap.size < PAGE) break;
    after = snap.docs[snap.docs.length - 1];
  }
  const now = (deps.clock ?? Date.now)();
  const rebuilt = await rebuildOccurrences(deps.db, cal, {
    window: windowFor(now, deps.config),
    calendarTimeZone: timeZone,
    logger: ctx.logger,
    fence: keeper.fence,
  });
  ctx.logger.info('calendar time zone changed; all-day times recomputed', {
    from: previous,
    to: timeZone,
    eventWrites: writes,
    occurrenceWrites: rebuilt.writes,
  });
  return { writes };
}
