// Seeded histories for the convergence property: calendar edits on several calendars interleaved with faults, and the fast-check arbitraries that draw them.
import fc from 'fast-check';
import type { RealismKnobs } from '../simulator/realism.js';

/** Calendar edits, made through Google's own endpoints (the simulator). `cal` picks a calendar. */
export type CalendarOp =
  | { op: 'insert'; cal: number; day: number; hour: number }
  | { op: 'insertAllDay'; cal: number; day: number; days: number }
  | { op: 'update'; cal: number; pick: number }
  | { op: 'move'; cal: number; pick: number; hours: number }
  | { op: 'delete'; cal: number; pick: number }
  | { op: 'restore'; cal: number; pick: number }
  | { op: 'createSeries'; cal: number; day: number; count: number; allDay: boolean }
  | { op: 'editInstance'; cal: number; pick: number; instance: number }
  | { op: 'cancelInstance'; cal: number; pick: number; instance: number }
  | { op: 'thisAndFollowing'; cal: number; pick: number; instance: number }
  | { op: 'editSeries'; cal: number; pick: number }
  | { op: 'deleteSeries'; cal: number; pick: number }
  /** An event Firestore refuses as it is (its document would exceed 1 MiB). */
  | { op: 'oversize'; cal: number; day: number }
  /** The calendar's time zone changes (all-day times and occurrences depend on it). */
  | { op: 'setTimeZone'; cal: number; zone: number }
  /** A secondary calendar is deleted at Google (its watchers get `not_exists`). */
  | { op: 'deleteCalendar'; cal: number };

/** Where a stalled worker is caught. */
export type StallPoint =
  /** The response of an incremental events.list (computed when the request arrived), withheld. */
  | 'incremental'
  /** A page of a full listing (after a 410), withheld. */
  | 'full'
  /** The first event write batch (a Firestore Commit held in the worker's own proxy lane). */
  | 'write'
  /** The change feed publish after the token commit. */
  | 'publish';

export type PermanentKind = 'forbidden' | 'insufficientPermissions' | 'badRequest';

export type Fault =
  /** Deliver the first n due messages one after the other. */
  | { fault: 'deliver'; n: number }
  /** Deliver the first n due messages at once (concurrent workers). */
  | { fault: 'deliverConcurrently'; n: number }
  /** Start n deliveries and go on with the history while they run (joined at the end). */
  | { fault: 'deliverBackground'; n: number }
  /** A queued message is lost (only the safety net can cover it). */
  | { fault: 'lose'; pick: number }
  | { fault: 'duplicate'; pick: number }
  /** The head of the queue goes to its end (a late message). */
  | { fault: 'delay' }
  | { fault: 'reorder'; key: number }
  /** All sync tokens of the calendar answer 410 from now on. */
  | { fault: 'expireTokens'; cal: number }
  /** The next incremental sync that pages gets a 410 on its next page. */
  | { fault: 'expireMidPaging' }
  /** The access token dies while a sync pages (its next call gets a 401). */
  | { fault: 'accessTokenExpiry' }
  /** The next `count` events.list calls fail with this status (rate limits and 5xx). */
  | { fault: 'apiErrors'; status: 403 | 429 | 500 | 503; count: number }
  /** Google answers this calendar with a permanent error; lifted by a later `lift`, or never. */
  | { fault: 'permanent'; cal: number; kind: PermanentKind; lift: 'later' | 'never' }
  | { fault: 'lift'; cal: number }
  /** The next delivery's worker throws at its `at`-th events.list (finally blocks run). */
  | { fault: 'crash'; at: number }
  /** The next delivery's worker dies at its `at`-th events.list: it never continues, its lease stays held. */
  | { fault: 'kill'; at: number }
  /** A worker stalls past its lease while another takes over and commits, then resumes. */
  | { fault: 'stall'; cal: number; at: StallPoint; during: CalendarOp[] }
  /** Renewal opens a new channel; a notification on it is handled before the channel is stored. */
  | { fault: 'notifyBeforeStore'; cal: number }
  /**
   * Time passes: leases expire. With `cal`, when no lease is live, a worker first dies holding that
   * calendar's lease (killed at its first events.list), so the jump always expires a dead holder's
   * lease with its message still queued; without `cal` (pinned histories), the clock only moves.
   */
  | { fault: 'leaseExpiry'; cal?: number }
  /** The clock moves near (or past) channel expiry and the scheduled renewChannels runs. */
  | { fault: 'renewal'; pastExpiry: boolean; stragglers: boolean }
  /** Changes become listable only this long after they are made (0: back to realism's lags). */
  | { fault: 'visibilityLag'; ms: 0 | 1500 }
  /** Google drops this share of notifications for a while. */
  | { fault: 'googleDrops'; rate: number }
  /** `not_exists` for a calendar: a spurious one (Google still has it) or a real deletion. */
  | { fault: 'notExists'; cal: number; real: boolean };

export type Step = CalendarOp | Fault;

export const isFault = (s: Step): s is Fault => 'fault' in s;

export interface CalendarSpec {
  /** Index into ZONES. */
  zone: number;
  seedSingles: number;
  seedSeries: number;
  seedAllDay: number;
}

export interface History {
  /** The simulator's seed (ids, page shortening, drops): part of the history, so a replay is exact. */
  simSeed: number;
  /** The harness's own randomness (latency draws per worker). */
  rngSeed: number;
  /** The user's calendars: the primary first, then secondaries (connect --all subscribes all). */
  calendars: CalendarSpec[];
  steps: Step[];
  /**
   * Realism knobs over `realism: 'google'` (hand-written histories only: e.g. no short pages, so
   * a page holds what the case needs).
   */
  realism?: Partial<RealismKnobs>;
}

/** Time zones the calendars use and change to (DST, half-hour and 45-minute offsets). */
export const ZONES = [
  'UTC',
  'America/New_York',
  'Europe/Berlin',
  'Asia/Kolkata',
  'Pacific/Chatham',
  'America/Santiago',
] as const;

const cal = fc.nat(5);

export const calendarOp: fc.Arbitrary<CalendarOp> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      op: fc.constant('insert' as const),
      cal,
      day: fc.integer({ min: -5, max: 40 }),
      hour: fc.integer({ min: 0, max: 23 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('insertAllDay' as const),
      cal,
      day: fc.integer({ min: -5, max: 40 }),
      days: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 9, arbitrary: fc.record({ op: fc.constant('update' as const), cal, pick: fc.nat() }) },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('move' as const),
      cal,
      pick: fc.nat(),
      hours: fc.integer({ min: -48, max: 48 }),
    }),
  },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('delete' as const), cal, pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('restore' as const), cal, pick: fc.nat() }) },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('createSeries' as const),
      cal,
      day: fc.integer({ min: -3, max: 30 }),
      count: fc.integer({ min: 3, max: 8 }),
      allDay: fc.boolean(),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('editInstance' as const),
      cal,
      pick: fc.nat(),
      instance: fc.nat(),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('cancelInstance' as const),
      cal,
      pick: fc.nat(),
      instance: fc.nat(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('thisAndFollowing' as const),
      cal,
      pick: fc.nat(),
      instance: fc.nat(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('editSeries' as const), cal, pick: fc.nat() }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('deleteSeries' as const), cal, pick: fc.nat() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('oversize' as const),
      cal,
      day: fc.integer({ min: 0, max: 30 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('setTimeZone' as const),
      cal,
      zone: fc.nat(ZONES.length - 1),
    }),
  },
);

/** What may happen while a worker is stalled: any edit, or the calendar's deletion at Google. */
const duringOp: fc.Arbitrary<CalendarOp> = fc.oneof(
  { weight: 6, arbitrary: calendarOp },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('deleteCalendar' as const), cal }) },
);

const stallPoint = fc.constantFrom<StallPoint>('incremental', 'full', 'write', 'publish');

export const fault: fc.Arbitrary<Fault> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      fault: fc.constant('deliver' as const),
      n: fc.integer({ min: 1, max: 4 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      fault: fc.constant('deliverConcurrently' as const),
      n: fc.integer({ min: 2, max: 4 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      fault: fc.constant('deliverBackground' as const),
      n: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ fault: fc.constant('lose' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ fault: fc.constant('duplicate' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ fault: fc.constant('delay' as const) }) },
  { weight: 1, arbitrary: fc.record({ fault: fc.constant('reorder' as const), key: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ fault: fc.constant('expireTokens' as const), cal }) },
  { weight: 1, arbitrary: fc.record({ fault: fc.constant('expireMidPaging' as const) }) },
  { weight: 1, arbitrary: fc.record({ fault: fc.constant('accessTokenExpiry' as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      fault: fc.constant('apiErrors' as const),
      status: fc.constantFrom(403 as const, 429 as const, 500 as const, 503 as const),
      count: fc.integer({ min: 1, max: 30 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      fault: fc.constant('permanent' as const),
      cal,
      kind: fc.constantFrom<PermanentKind>('forbidden', 'insufficientPermissions', 'badRequest'),
      lift: fc.constantFrom('later' as const, 'later' as const, 'never' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ fault: fc.constant('lift' as const), cal }) },
  {
    weight: 2,
    arbitrary: fc.record({
      fault: fc.constant('crash' as const),
      at: fc.integer({ min: 0, max: 2 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      fault: fc.constant('kill' as const),
      at: fc.integer({ min: 0, max: 2 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      fault: fc.constant('stall' as const),
      cal,
      at: stallPoint,
      during: fc.array(duringOp, { maxLength: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ fault: fc.constant('notifyBeforeStore' as const), cal }) },
  { weight: 1, arbitrary: fc.record({ fault: fc.constant('leaseExpiry' as const), cal }) },
  {
    weight: 1,
    arbitrary: fc.record({
      fault: fc.constant('renewal' as const),
      pastExpiry: fc.boolean(),
      stragglers: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      fault: fc.constant('googleDrops' as const),
      rate: fc.constantFrom(0, 0.3, 1),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      fault: fc.constant('notExists' as const),
      cal,
      real: fc.boolean(),
    }),
  },
);

export const lagFault: fc.Arbitrary<Fault> = fc.record({
  fault: fc.constant('visibilityLag' as const),
  ms: fc.constantFrom(0 as const, 1500 as const),
});

const calendarSpec: fc.Arbitrary<CalendarSpec> = fc.record({
  zone: fc.nat(ZONES.length - 1),
  seedSingles: fc.integer({ min: 0, max: 7 }),
  seedSeries: fc.integer({ min: 0, max: 2 }),
  seedAllDay: fc.integer({ min: 0, max: 2 }),
});

/** Steps per history by default (the vitest suite and the soak: `--path` replays need the same). */
export const DEFAULT_MAX_STEPS = 30;

export function historyArbitrary(maxSteps = DEFAULT_MAX_STEPS): fc.Arbitrary<History> {
  return fc.record({
    simSeed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    rngSeed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    calendars: fc.array(calendarSpec, { minLength: 1, maxLength: 3 }),
    steps: fc.array(
      fc.oneof(
        { weight: 30, arbitrary: calendarOp },
        { weight: 20, arbitrary: fault },
        { weight: 1, arbitrary: lagFault },
      ),
      { minLength: 10, maxLength: maxSteps, size: 'medium' },
    ),
  });
}
