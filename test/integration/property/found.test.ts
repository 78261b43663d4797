// Bugs the widened convergence world (issue 13) found, each pinned by the smallest history that shows it: fixed ones are regression tests, open ones `it.fails` (turn them into `it` once fixed).
//
// Each case is a history of the property test (test/property/), replayed exactly: its steps, the
// simulator's seed and the latency draws are all in it. The assertion names the divergence the bug
// causes and checks that the fault took effect, so an `it.fails` case starts failing as soon as its
// bug is gone.
// Replay one with its trace: `npm run test:soak` cannot take a hand-written history; set
// CALSYNC_PROPERTY_TRACE=1 and run this file with `-t '<name>'`.
import { describe, expect, it } from 'vitest';
import { emulatorsMissing } from '../../harness/env.js';
import type { DivergenceKind } from '../../property/checks.js';
import type { FaultClass } from '../../property/effects.js';
import type { History } from '../../property/history.js';
import { describeDivergences, runHistory } from '../../property/convergence.js';
import { propertyWorldFixture } from './world.js';

const TRACE = process.env.CALSYNC_PROPERTY_TRACE ? (l: string) => console.log(l) : undefined;

/**
 * Google's lags and short pages are random per request; a case that needs a given interleaving
 * turns them off (the property test keeps them on).
 */
const STEADY = { visibilityLagMs: 0, emptyPageRate: 0, shortPageRate: 0, emptyLastPageRate: 0 };

const one = (seedSingles: number, zone = 0) => [
  { zone, seedSingles, seedSeries: 0, seedAllDay: 0 },
];

describe.skipIf(emulatorsMissing() !== '')('bugs found by the convergence world', () => {
  const world = propertyWorldFixture('found');

  /** Runs the history; the fault must have taken effect and none of `kinds` may be found. */
  async function converges(history: History, fault: FaultClass, kinds: DivergenceKind[]) {
    const r = await runHistory(world(), history, TRACE ? { trace: TRACE } : {});
    expect(r.error).toBeUndefined();
    expect(r.effects.count(fault), `${fault} took effect`).toBeGreaterThan(0);
    const found = r.divergences.filter((d) => kinds.includes(d.kind));
    expect(found, describeDivergences(found)).toEqual([]);
  }

  // Issue 13 path 1 (fixed by the write fence). Worker A's full listing is read, then withheld past
  // its lease while B takes over and commits and a new event E is created and synced; A's stale
  // pages arrive: before the fence they were written and A's sweep deleted E, which no later delta
  // brought back.
  it('path 1: a stale full listing arriving after a takeover writes nothing and sweeps nothing', () =>
    converges(
      {
        simSeed: 5,
        rngSeed: 5,
        realism: STEADY,
        calendars: one(8),
        steps: [{ fault: 'stall', cal: 0, at: 'full', during: [] }],
      },
      'stall:full',
      ['missing'],
    ));

  // Issue 13 path 1 (fixed by the write fence). A reads the stored versions of its page, then its
  // event batch is held in the network past its lease; the event changes and B writes and commits
  // the new version; A's batch lands: before the fence the older version overwrote the newer one
  // for good (B's token is past the change).
  it('path 1: an event batch held past the lease does not land', () =>
    converges(
      {
        simSeed: 22,
        rngSeed: 22,
        realism: STEADY,
        calendars: one(4),
        steps: [{ fault: 'stall', cal: 0, at: 'write', during: [] }],
      },
      'stall:write',
      ['etag', 'times'],
    ));

  // Issue 13 paths 1 and 5 (fixed: a removal revokes the fence). A is stalled in its incremental
  // call while its calendar is deleted at Google and another worker handles `not_exists` (status
  // removed, data deleted); A resumed and wrote its page into the removed calendar.
  it('paths 1, 5: a stalled worker writes nothing into a calendar removed meanwhile', () =>
    converges(
      {
        simSeed: 21,
        rngSeed: 21,
        realism: STEADY,
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
    ));

  // Issue 13 paths 2 and 3 (fixed). 403 forbidden was classified transient: redelivered until
  // dead-lettered, the calendar still said `active`, and nothing said why or when it is retried.
  it('paths 2, 3: a permanent 403 puts the calendar in error, with its reason and next retry', () =>
    converges(
      {
        simSeed: 26,
        rngSeed: 26,
        realism: STEADY,
        calendars: one(2),
        steps: [
          { fault: 'permanent', cal: 0, kind: 'forbidden', lift: 'never' },
          { op: 'insert', cal: 0, day: 2, hour: 9 },
          { fault: 'deliver', n: 1 },
        ],
      },
      'permanent:forbidden',
      ['status'],
    ));

  // Issue 13 path 3 (fixed). A 400 marks the calendar `error` with `sync.nextRetryAt`; once Google
  // serves it again, the scheduled run at that time retries it: before, renewal, the safety net and
  // recovery all skipped `error`, and only a new notification brought it back.
  it('path 3: an error calendar is retried by the scheduled run once Google serves it again', () =>
    converges(
      {
        simSeed: 27,
        rngSeed: 27,
        realism: STEADY,
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
    ));

  // Issue 13 path 4 (fixed: a verified channel that may be in flight is not stopped; redelivered). Renewal opened a channel and has not stored it yet; a notification on it
  // reaches a worker, which takes it for a stale channel and stops it; renewal then stores the
  // stopped channel: no notification comes any more, while the document says a channel is live.
  it('path 4: a worker stops the channel renewal has just opened', () =>
    converges(
      {
        simSeed: 11,
        rngSeed: 11,
        realism: STEADY,
        calendars: one(2),
        steps: [
          { fault: 'notifyBeforeStore', cal: 0 },
          { op: 'insert', cal: 0, day: 7, hour: 3 },
        ],
      },
      'notifyBeforeStore',
      ['channel', 'missing'],
    ));

  // Issue 13 path 6 (fixed). A calendar's time zone changes (calendars.patch): no event delta comes,
  // but all-day events' startAt/endAt and all-day occurrences are midnight in the calendar's zone.
  it('path 6: a time-zone change moves all-day instants and occurrences', () =>
    converges(
      {
        simSeed: 41,
        rngSeed: 41,
        realism: STEADY,
        calendars: [{ zone: 1, seedSingles: 1, seedSeries: 0, seedAllDay: 2 }],
        steps: [
          { op: 'createSeries', cal: 0, day: 2, count: 4, allDay: true },
          { fault: 'deliver', n: 2 },
          { op: 'setTimeZone', cal: 0, zone: 3 },
          { fault: 'deliver', n: 2 },
        ],
      },
      'setTimeZone',
      ['times', 'occurrence', 'status'],
    ));

  // Issue 13 path 9 (fixed by quarantine). An event whose document would exceed 1 MiB failed its
  // batch on every try: the token never advanced, later changes never arrived.
  it('path 9: an event Firestore refuses is quarantined and the calendar goes on', () =>
    converges(
      {
        simSeed: 24,
        rngSeed: 24,
        realism: STEADY,
        calendars: one(2),
        steps: [
          { op: 'oversize', cal: 0, day: 3 },
          { op: 'insert', cal: 0, day: 4, hour: 9 },
          { fault: 'deliver', n: 2 },
        ],
      },
      'oversize',
      ['missing', 'quarantine'],
    ));

  // Issue 13 path 10 (fixed: not_exists is confirmed with Google). A `not_exists` for a calendar
  // Google still has (forged through the real webhook with the channel's own token) marked it
  // removed and deleted its mirror.
  it('path 10: a spurious not_exists leaves a live calendar alone', () =>
    converges(
      {
        simSeed: 25,
        rngSeed: 25,
        realism: STEADY,
        calendars: [{ zone: 0, seedSingles: 3, seedSeries: 1, seedAllDay: 0 }],
        steps: [
          { fault: 'notExists', cal: 0, real: false },
          { fault: 'deliver', n: 1 },
        ],
      },
      'notExists:spurious',
      ['status', 'missing'],
    ));

  // Change feed (fixed by the outbox written before each page; README "For downstream apps"). A worker that writes a page and crashes before its commit leaves those
  // events written; the retry finds them unchanged and announces nothing: they are never announced.
  it('feed: a crash between pages loses the announcements of the written pages', () =>
    converges(
      {
        simSeed: 28,
        rngSeed: 28,
        realism: STEADY,
        calendars: one(2),
        steps: [
          ...[2, 3, 4, 5, 6].map((day) => ({ op: 'insert' as const, cal: 0, day, hour: 3 })),
          // Every change listable (past the visibility lag), so the delta has two pages.
          { fault: 'leaseExpiry' },
          { fault: 'crash', at: 1 },
          { fault: 'deliver', n: 1 },
        ],
      },
      'crash',
      ['feed'],
    ));

  // Change feed (open; functions/changes/publisher.ts: "a consumer sees one calendar's changes in commit
  // order"). A commits and is slow to publish; B commits a newer version and publishes first; A's
  // older announcement arrives last, and a consumer ends on the older version. A publish can
  // outlive the lease (the Pub/Sub client retries for minutes) and cannot be fenced, so each
  // message carries its lease fence and a consumer drops one below the highest fence seen
  // (decision 009) — the checker folds the feed by that rule.
  it('feed: an announcement published after a later commit reverses the order', () =>
    converges(
      {
        simSeed: 23,
        rngSeed: 23,
        realism: STEADY,
        calendars: one(2),
        steps: [{ fault: 'stall', cal: 0, at: 'publish', during: [] }],
      },
      'stall:publish',
      ['feed'],
    ));

  // Coalescing under Google's visibility lag (fixed: every listing that answers notifications is
  // re-checked CALSYNC_RECHECK_MS after it began, whatever it found; before, only one that found
  // fewer changes than the notifications it answered, and N1 was not yet noted when it began). X is updated; its notification N2 reaches a
  // worker first, whose run finds another change (Y) but not X's, which Google does not list yet
  // (compass-calendar#1190; the simulator's visibilityLagMs). The run found something, so there is
  // no re-check, and it counts as covering every message up to N2: Y's own N1 is acknowledged as
  // covered and X's update is never fetched.
  it('coalescing: a run that found something covers a notification whose change it could not see', () =>
    converges(
      {
        simSeed: 32,
        rngSeed: 32,
        realism: STEADY,
        calendars: one(3),
        steps: [
          { op: 'insert', cal: 0, day: 2, hour: 9 },
          { fault: 'leaseExpiry' },
          { fault: 'visibilityLag', ms: 1500 },
          { op: 'update', cal: 0, pick: 0 },
          { fault: 'reorder', key: 1 },
          { fault: 'deliver', n: 2 },
        ],
      },
      'visibilityLag',
      ['etag', 'missing'],
    ));

  // Change feed (fixed: LifecycleDeps carries the change publisher; README: "each committed sync publishes"). A grant without the calendar scope
  // puts the calendar in `needs_reauth`; the user grants it again and a person runs `calsync
  // connect`: its syncs write the changes made meanwhile, but the CLI has no change publisher, so
  // they were never announced.
  it('feed: the syncs of calsync connect are not announced', () =>
    converges(
      {
        simSeed: 51,
        rngSeed: 51,
        realism: STEADY,
        calendars: [...one(2), { zone: 1, seedSingles: 2, seedSeries: 0, seedAllDay: 0 }],
        steps: [
          { fault: 'permanent', cal: 1, kind: 'insufficientPermissions', lift: 'later' },
          { op: 'insert', cal: 1, day: 2, hour: 9 },
          { fault: 'deliver', n: 2 },
          { fault: 'lift', cal: 1 },
          { op: 'insert', cal: 1, day: 3, hour: 9 },
        ],
      },
      'permanent:insufficientPermissions',
      ['feed'],
    ));

  // Harness: `leaseExpiry` with a calendar always expires a dead holder's lease (before, it took
  // effect only when a kill had just left one — 0 of 36 draws in 200 soak histories). The dead
  // worker's message comes back after the jump; the new holder takes over the expired lease.
  it('leaseExpiry: a worker dies holding the lease, the clock passes it, the redelivery takes over', () =>
    converges(
      {
        simSeed: 61,
        rngSeed: 61,
        realism: STEADY,
        calendars: one(3),
        steps: [
          { op: 'insert', cal: 0, day: 2, hour: 9 },
          { fault: 'leaseExpiry', cal: 0 },
          { op: 'update', cal: 0, pick: 0 },
          { fault: 'deliver', n: 2 },
        ],
      },
      'leaseExpiry',
      ['missing', 'etag', 'extra', 'status'],
    ));
});
