// roll.*: the daily occurrence roll's cost per calendar (Firestore reads, writes, ms) on the emulator — the day's move against a whole recompute of the same calendars.
import type { Firestore } from '@google-cloud/firestore';
import type { GoogleEvent } from '../../functions/calendar/api.js';
import { occurrenceWindow } from '../../functions/occurrences/model.js';
import { rollOccurrenceWindow, type RollStats } from '../../functions/occurrences/roll.js';
import { eventDocument } from '../../functions/store/events.js';
import { encodeDocId, paths } from '../../functions/store/schema.js';
import { eventTimes } from '../../functions/time/event-times.js';
import { countFirestore } from '../harness/firestore-counter.js';
import { round, type BenchContext, type BenchResult } from './lib.js';

const DAY = 24 * 3600 * 1000;
const ZONE = 'America/New_York';
const SETTINGS = { daysBack: 30, daysAhead: 365 };

/**
 * One calendar as the bench models it: 8 weekly and 2 daily series, 1 monthly, 2 edited
 * instances, and 60 single events spread over the window.
 */
function calendarEvents(day0: number): GoogleEvent[] {
  const at = (ms: number) => ({ dateTime: new Date(ms).toISOString(), timeZone: ZONE });
  const start = day0 - 60 * DAY + 14 * 3600_000;
  const series = (id: string, rule: string, offsetH: number): GoogleEvent => ({
    id,
    status: 'confirmed',
    summary: id,
    updated: '2026-01-01T00:00:00.000Z',
    start: at(start + offsetH * 3600_000),
    end: at(start + offsetH * 3600_000 + 1800_000),
    recurrence: [rule],
  });
  const out: GoogleEvent[] = [];
  const days = ['MO', 'TU', 'WE', 'TH', 'FR', 'MO', 'WE', 'FR'];
  days.forEach((d, i) => out.push(series(`weekly${i}`, `RRULE:FREQ=WEEKLY;BYDAY=${d}`, i % 8)));
  out.push(series('daily0', 'RRULE:FREQ=DAILY', 1), series('daily1', 'RRULE:FREQ=DAILY', 3));
  out.push(series('monthly', 'RRULE:FREQ=MONTHLY', 2));
  for (let i = 0; i < 60; i++) {
    const s = day0 - 25 * DAY + Math.round((i * 390 * DAY) / 60) + 10 * 3600_000;
    out.push({
      id: `single${i}`,
      status: 'confirmed',
      summary: `single ${i}`,
      start: at(s),
      end: at(s + 3600_000),
    });
  }
  return out;
}

async function seed(db: Firestore, uid: string, calendarId: string, day0: number) {
  const batch = db.batch();
  batch.set(db.doc(paths.calendar(uid, calendarId)), {
    calendarId,
    summary: calendarId,
    timeZone: ZONE,
  });
  for (const event of calendarEvents(day0)) {
    const docId = encodeDocId(event.id!);
    batch.set(
      db.doc(paths.event(uid, calendarId, event.id!)),
      eventDocument({ type: 'set', docId, event, ...eventTimes(event, ZONE) }),
    );
  }
  await batch.commit();
}

/** Rolls every calendar one after the other, counting; per-calendar means. */
async function measure(
  db: Firestore,
  cals: string[],
  now: number,
  rolledThrough: number | null,
): Promise<{ reads: number; writes: number; ms: number; stats: RollStats[] }> {
  const counter = countFirestore();
  const stats: RollStats[] = [];
  const t0 = performance.now();
  try {
    for (const c of cals) {
      stats.push(await rollOccurrenceWindow(db, 'roll', c, now, { ...SETTINGS, rolledThrough }));
    }
  } finally {
    counter.stop();
  }
  const n = cals.length;
  const ms = (performance.now() - t0) / n;
  return { reads: counter.reads / n, writes: counter.writes / n, ms, stats };
}

export async function benchRoll(ctx: BenchContext, db: Firestore): Promise<BenchResult> {
  const n = ctx.quick ? 10 : 50;
  const today = Date.now() - (Date.now() % DAY) + 12 * 3600_000;
  const cals = Array.from({ length: n }, (_, i) => `roll${i}@bench.calsync.test`);
  ctx.log(`roll: seeding ${n} calendars (11 series, 60 singles each)`);
  for (const c of cals) await seed(db, 'roll', c, today);
  // Yesterday's roll fills each window; today's moves it by a day.
  const first = await measure(db, cals, today - DAY, null);
  const yesterdayEnd = occurrenceWindow(today - DAY, SETTINGS).end;
  ctx.log(`roll: one day's roll of ${n} calendars`);
  const day = await measure(db, cals, today, yesterdayEnd);
  // Baseline: the same calendars recomputed whole (what every roll did before), nothing to write.
  const whole = await measure(db, cals, today, null);
  const stored = first.stats.reduce((s, x) => s + x.writes, 0) / n;
  const entering = day.stats.reduce((s, x) => s + x.writes, 0) / n;
  const expired = day.stats.reduce((s, x) => s + x.expired, 0) / n;
  return {
    values: {
      'roll.calendars': n,
      'roll.reads_per_calendar': round(day.reads, 1),
      'roll.writes_per_calendar': round(day.writes, 1),
      'roll.ms_per_calendar': round(day.ms, 1),
    },
    notes: [
      `a calendar holds ${round(stored, 0)} occurrences; the day's roll wrote ${round(entering, 1)} entering and deleted ${round(expired, 1)} leaving (per calendar)`,
      `whole recompute of the same calendars (the roll before issue 14.8): ${round(whole.reads, 1)} reads, ${round(whole.writes, 1)} writes, ${round(whole.ms, 1)} ms per calendar; first roll (empty view): ${round(first.reads, 1)} reads, ${round(first.writes, 1)} writes, ${round(first.ms, 1)} ms`,
      `rolled one calendar at a time in the bench process (latency, not throughput); counted at the client (test/harness/firestore-counter.ts)`,
    ],
  };
}
