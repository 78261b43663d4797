// Bugs the widened convergence world (issue 13) found, each pinned by the smallest history that shows it; `it.fails` keeps the suite green until the fix lands — then turn the case into `it`.
//
// Each case is a history of the property test (test/property/), replayed exactly: its steps, the
// simulator's seed and the latency draws are all in it. The assertion names the divergence the bug
// causes, so a case starts passing (and its `it.fails` fails) as soon as that bug is gone.
// Replay one with its trace: `npm run test:soak` cannot take a hand-written history; set
// CALSYNC_PROPERTY_TRACE=1 and run this file with `-t '<name>'`.
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorsMissing, uniqueProjectId, useEmulators } from '../../harness/env.js';
import type { DivergenceKind } from '../../property/checks.js';
import type { FaultClass } from '../../property/effects.js';
import type { History } from '../../property/history.js';
import {
  createPropertyWorld,
  describeDivergences,
  runHistory,
  type PropertyWorld,
} from '../../property/convergence.js';

const TRACE = process.env.CALSYNC_PROPERTY_TRACE ? (l: string) => console.log(l) : undefined;

const one = (seedSingles: number, zone = 0) => [
  { zone, seedSingles, seedSeries: 0, seedAllDay: 0 },
];

describe.skipIf(emulatorsMissing() !== '')('bugs found by the convergence world', () => {
  let db: Firestore;
  let world: PropertyWorld;

  beforeAll(async () => {
    expect(useEmulators()).toBe(true);
    const projectId = uniqueProjectId('found');
    db = new Firestore({ projectId, ignoreUndefinedProperties: true });
    await db.doc('warmup/connection').get();
    world = await createPropertyWorld(db, projectId);
  });
  afterAll(async () => {
    await world?.close();
    await db?.terminate();
  });

  /** Runs the history; the fault must have taken effect and none of `kinds` may be found. */
  async function converges(history: History, fault: FaultClass, kinds: DivergenceKind[]) {
    const r = await runHistory(world, history, TRACE ? { trace: TRACE } : {});
    expect(r.error).toBeUndefined();
    expect(r.effects.count(fault), `${fault} took effect`).toBeGreaterThan(0);
    const found = r.divergences.filter((d) => kinds.includes(d.kind));
    expect(found, describeDivergences(found)).toEqual([]);
  }

  // Issue 13 path 1. Worker A's incremental call stalls past its lease, then answers 410; B takes
  // over and resyncs; A's full listing is read before a new event E exists and withheld while E is
  // created and synced; A's stale pages land and its sweep deletes E; A's commit then fails as lost,
  // but E stays missing (no later delta brings it back).
  it.fails('path 1: a stale full listing arriving after a takeover sweeps an event away', () =>
    converges(
      {
        simSeed: 5,
        rngSeed: 5,
        calendars: one(8),
        steps: [{ fault: 'stall', cal: 0, at: 'full', during: [] }],
      },
      'stall:full',
      ['missing'],
    ),
  );

  // Issue 13 path 1. A reads the stored versions of its page, then its event batch is held in the
  // network past its lease; the event changes and B writes and commits the new version; A's batch
  // lands: the older version overwrites the newer one, forever (B's token is past the change).
  it.fails('path 1: an event batch held past the lease overwrites the newer version', () =>
    converges(
      {
        simSeed: 22,
        rngSeed: 22,
        calendars: one(4),
        steps: [{ fault: 'stall', cal: 0, at: 'write', during: [] }],
      },
      'stall:write',
      ['etag', 'times'],
    ),
  );

  // Issues 13 paths 1 and 5. A is stalled in its incremental call while its calendar is deleted at
  // Google and another worker handles `not_exists` (status removed, data deleted); A resumes and
  // writes its page into the removed calendar.
  it.fails('paths 1, 5: a stalled worker writes into a calendar removed meanwhile', () =>
    converges(
      {
        simSeed: 21,
        rngSeed: 21,
        calendars: [...one(2), { zone: 2, seedSingles: 4, seedSeries: 0, seedAllDay: 0 }],
        steps: [
          {
            fault: 'stall',
            cal: 1,
            at: 'incremental',
            during: [{ op: 'deleteCalendar', cal: 1 }],
          },
        ],
      },
      'notExists:real',
      ['removed', 'status'],
    ),
  );

  // Issue 13 paths 2 and 3. 403 forbidden is classified transient: redelivered until dead-lettered,
  // the calendar still says `active`, and nothing says why it is stale or when it is tried again.
  it.fails(
    'paths 2, 3: a permanent 403 leaves the calendar active, with no reason or retry time',
    () =>
      converges(
        {
          simSeed: 26,
          rngSeed: 26,
          calendars: one(2),
          steps: [
            { fault: 'permanent', cal: 0, kind: 'forbidden', lift: 'never' },
            { op: 'insert', cal: 0, day: 2, hour: 9 },
            { fault: 'deliver', n: 1 },
          ],
        },
        'permanent:forbidden',
        ['status'],
      ),
  );

  // Issue 13 path 3. A 400 marks the calendar `error`; once Google serves it again nothing retries
  // it unless a new notification comes: renewal, the safety net and recovery all skip `error`, and
  // no `sync.nextRetryAt` says when it would be tried.
  it.fails('path 3: an error calendar is never retried after Google serves it again', () =>
    converges(
      {
        simSeed: 27,
        rngSeed: 27,
        calendars: one(2),
        steps: [
          { fault: 'permanent', cal: 0, kind: 'badRequest', lift: 'later' },
          { op: 'insert', cal: 0, day: 2, hour: 9 },
          { fault: 'deliver', n: 1 },
          { fault: 'lift', cal: 0 },
        ],
      },
      'permanent:badRequest',
      ['status', 'missing'],
    ),
  );

  // Issue 13 path 4. Renewal opened a channel and has not stored it yet; a notification on it
  // reaches a worker, which takes it for a stale channel and stops it; renewal then stores the
  // stopped channel: no notification comes any more, while the document says a channel is live.
  it.fails('path 4: a worker stops the channel renewal has just opened', () =>
    converges(
      {
        simSeed: 11,
        rngSeed: 11,
        calendars: one(2),
        steps: [
          { fault: 'notifyBeforeStore', cal: 0 },
          { op: 'insert', cal: 0, day: 7, hour: 3 },
        ],
      },
      'notifyBeforeStore',
      ['channel', 'missing'],
    ),
  );

  // Issue 13 path 9. An event whose document would exceed 1 MiB fails its batch on every try: the
  // token never advances, later changes never arrive, the messages end in the dead-letter topic.
  it.fails('path 9: an event Firestore refuses stalls its calendar', () =>
    converges(
      {
        simSeed: 24,
        rngSeed: 24,
        calendars: one(2),
        steps: [
          { op: 'oversize', cal: 0, day: 3 },
          { op: 'insert', cal: 0, day: 4, hour: 9 },
          { fault: 'deliver', n: 2 },
        ],
      },
      'oversize',
      ['missing', 'quarantine'],
    ),
  );

  // Issue 13 path 10. A `not_exists` for a calendar Google still has (forged through the real
  // webhook with the channel's own token) marks it removed and deletes its mirror.
  it.fails('path 10: a spurious not_exists wipes a live calendar', () =>
    converges(
      {
        simSeed: 25,
        rngSeed: 25,
        calendars: [{ zone: 0, seedSingles: 3, seedSeries: 1, seedAllDay: 0 }],
        steps: [
          { fault: 'notExists', cal: 0, real: false },
          { fault: 'deliver', n: 1 },
        ],
      },
      'notExists:spurious',
      ['status', 'missing'],
    ),
  );

  // Change feed (README "For downstream apps" says only a crash between commit and publish loses
  // announcements). A worker that writes a page and crashes before its commit leaves those events
  // written; the retry finds them unchanged and announces nothing: they are never announced.
  it.fails('feed: a crash between pages loses the announcements of the written pages', () =>
    converges(
      {
        simSeed: 28,
        rngSeed: 28,
        calendars: one(2),
        steps: [
          ...[2, 3, 4, 5, 6].map((day) => ({ op: 'insert' as const, cal: 0, day, hour: 3 })),
          { fault: 'crash', at: 1 },
          { fault: 'deliver', n: 1 },
        ],
      },
      'crash',
      ['feed'],
    ),
  );

  // Change feed (functions/changes/publisher.ts: "a consumer sees one calendar's changes in commit
  // order"). A commits and is slow to publish; B commits a newer version and publishes first; A's
  // older announcement arrives last, and a consumer ends on the older version.
  it.fails('feed: an announcement published after a later commit reverses the order', () =>
    converges(
      {
        simSeed: 23,
        rngSeed: 23,
        calendars: one(2),
        steps: [{ fault: 'stall', cal: 0, at: 'publish', during: [] }],
      },
      'stall:publish',
      ['feed'],
    ),
  );
});
