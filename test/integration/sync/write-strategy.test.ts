// Fenced event writes on the emulator: every op lands (asserted in Firestore, not from the input), and the diff's read path.
import { describe, expect, it } from 'vitest';
import {
  readEventStates,
  sweepUnseen,
  writeEventOps,
  type EventOp,
} from '../../../functions/store/events.js';
import { leaseFence } from '../../../functions/store/fence.js';
import { paths } from '../../../functions/store/schema.js';
import { emulatorsMissing } from '../../harness/env.js';
import { firestoreFixture } from '../../harness/fixtures.js';

const N = 1200; // three fenced batches (499 each) and a partial one
const ops = (tag: string): EventOp[] =>
  Array.from({ length: N }, (_, i) => ({
    type: 'set' as const,
    docId: `e${String(i).padStart(5, '0')}`,
    event: {
      id: `e${String(i).padStart(5, '0')}`,
      etag: `"${i + 1}"`,
      status: 'confirmed',
      summary: `${tag} ${i}`,
      updated: '2026-01-01T00:00:00.000Z',
      start: { dateTime: '2026-01-01T10:00:00Z' },
      end: { dateTime: '2026-01-01T11:00:00Z' },
    },
    startAt: Date.parse('2026-01-01T10:00:00Z'),
    endAt: Date.parse('2026-01-01T11:00:00Z'),
  }));

describe.skipIf(emulatorsMissing() !== '')('fenced event writes', () => {
  const fs = firestoreFixture('writes');

  it(`${N} upserts in fenced batches all land; the read path and an empty sweep see them`, async () => {
    const db = fs.db;
    const cal = { uid: 'writer', calendarId: 'c' };
    const fence = leaseFence(db, { subscriptionId: 's_writes', fence: 1, holder: 'writer' });
    const r = await writeEventOps(db, cal, ops('v1'), fence);
    expect(r).toEqual({ writes: N, deletes: 0 });
    const stored = await db.collection(paths.events(cal.uid, cal.calendarId)).get();
    expect(stored.size).toBe(N);
    expect(stored.docs.every((d) => (d.get('summary') as string).startsWith('v1 '))).toBe(true);
    expect(stored.docs[0]!.get('startAt').toMillis()).toBe(Date.parse('2026-01-01T10:00:00Z'));

    const ids = ops('x').map((o) => o.docId);
    const states = await readEventStates(db, cal, ids);
    expect(states.size).toBe(N);
    expect(states.get(ids[7]!)?.etag).toBe('"8"');
    expect(await sweepUnseen(db, cal, new Set(ids), fence)).toBe(0);
    expect(await sweepUnseen(db, cal, new Set(ids.slice(0, N - 10)), fence)).toBe(10);
    expect(
      (await db.collection(paths.events(cal.uid, cal.calendarId)).count().get()).data().count,
    ).toBe(N - 10);
  }, 120_000);
});
