// Measures WriteBatch (≤500 per commit) against BulkWriter (throttling off) on the emulator, and the diff's read path.
import { describe, expect, it } from 'vitest';
import {
  readEventStates,
  sweepUnseen,
  writeEventOps,
  type EventOp,
} from '../../../functions/store/events.js';
import { emulatorsMissing } from '../../harness/env.js';
import { firestoreFixture } from '../../harness/fixtures.js';

/** CALSYNC_BENCH=1 for the figure in the report; a smaller run keeps the suite fast. */
const N = process.env.CALSYNC_BENCH === '1' ? 5000 : 1000;
const ops = (tag: string): EventOp[] =>
  Array.from({ length: N }, (_, i) => ({
    type: 'set' as const,
    docId: `e${String(i).padStart(5, '0')}`,
    event: {
      id: `e${i}`,
      etag: `"${i + 1}"`,
      status: 'confirmed',
      summary: `${tag} ${i}`,
      updated: '2026-01-01T00:00:00.000Z',
      start: { dateTime: '2026-01-01T10:00:00Z' },
      end: { dateTime: '2026-01-01T11:00:00Z' },
      creator: { email: 'a@example.com', self: true },
      organizer: { email: 'a@example.com', self: true },
      reminders: { useDefault: true },
    },
    startAt: Date.parse('2026-01-01T10:00:00Z'),
    endAt: Date.parse('2026-01-01T11:00:00Z'),
  }));

describe.skipIf(emulatorsMissing() !== '')('write strategy', () => {
  const fs = firestoreFixture('bench');

  it(`WriteBatch vs BulkWriter for ${N} event upserts`, async () => {
    const times: Record<string, number> = {};
    for (const [round, strategy] of [
      [1, 'batch'],
      [1, 'bulk'],
      [2, 'batch'],
      [2, 'bulk'],
    ] as const) {
      const cal = { uid: `bench-${strategy}-${round}`, calendarId: 'c' };
      const t = performance.now();
      const r = await writeEventOps(fs.db, cal, ops(strategy), strategy);
      times[`${strategy}#${round}`] = Math.round(performance.now() - t);
      expect(r.writes).toBe(N);
    }
    const cal = { uid: 'bench-batch-1', calendarId: 'c' };
    const ids = ops('x').map((o) => o.docId);
    let t = performance.now();
    for (let i = 0; i < N; i += 2500) await readEventStates(fs.db, cal, ids.slice(i, i + 2500));
    times.readStates = Math.round(performance.now() - t);
    t = performance.now();
    expect(await sweepUnseen(fs.db, cal, new Set(ids))).toBe(0);
    times.sweepNothing = Math.round(performance.now() - t);
    console.log(`[measure] ${N} docs, ms: ${JSON.stringify(times)}`);
  }, 120_000);
});
