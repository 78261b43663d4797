// Test set-up written once: Firestore on the emulator and a simulator user with a real Calendar client, made and torn down by vitest hooks.
import type { calendar_v3 } from '@googleapis/calendar';
import { Firestore, type DocumentChange, type Query } from '@google-cloud/firestore';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { googleCalendar, SimulatorClient } from '../simulator/client.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../simulator/index.js';
import { uniqueProjectId, useEmulators } from './env.js';

/**
 * A value a hook fills in. Fixtures are declared when vitest collects a file and filled by
 * beforeAll/beforeEach; reading one outside a test is a mistake the error names.
 */
export function slot<T>(what: string): {
  get(): T;
  /** The value, or undefined when the hook that fills it has not run (or failed). */
  peek(): T | undefined;
  set(value: T | undefined): void;
} {
  let value: T | undefined;
  return {
    peek: () => value,
    get() {
      if (value === undefined) throw new Error(`${what} is only there inside a test`);
      return value;
    },
    set(v) {
      value = v;
    },
  };
}

/** `beforeAll`/`afterAll` for 'file', `beforeEach`/`afterEach` for 'test'. */
export function hooksFor(scope: 'file' | 'test') {
  return scope === 'file'
    ? { before: beforeAll, after: afterAll }
    : { before: beforeEach, after: afterEach };
}

export interface FirestoreFixture {
  /** Unique to this file: no state leaks between files. */
  readonly projectId: string;
  readonly db: Firestore;
}

/** A Firestore client on the emulator, for one test file (`prefix` names its project). */
export function firestoreFixture(prefix: string): FirestoreFixture {
  const projectId = uniqueProjectId(prefix);
  const db = slot<Firestore>('the Firestore client');
  beforeAll(() => {
    expect(useEmulators()).toBe(true);
    db.set(new Firestore({ projectId, ignoreUndefinedProperties: true }));
  });
  afterAll(async () => {
    const client = db.get();
    db.set(undefined);
    await client.terminate();
  });
  return {
    projectId,
    get db() {
      return db.get();
    },
  };
}

export interface SimulatorUserOptions {
  /** Names the user: `${name}${n}@example.com`, refresh token `rt-${name}-${n}`… */
  name?: string;
  /** …or this user, the same in every set-up. */
  user?: { email: string; refreshToken: string };
  simulator?: SimulatorOptions;
  /** The primary calendar's zone (the simulator's default otherwise). */
  timeZone?: string;
  /** A fresh simulator and user for every test (default) or one for the whole file. */
  scope?: 'file' | 'test';
}

export interface SimulatorUser {
  readonly sim: Simulator;
  readonly ctl: SimulatorClient;
  /** The real `@googleapis/calendar` client acting as the user. */
  readonly cal: calendar_v3.Calendar;
  /** The user's email, also the id of their primary calendar. */
  readonly email: string;
  readonly refreshToken: string;
  /** Counts the set-ups of this fixture (1, 2, …): unique ids per test. */
  readonly n: number;
  /** Inserts an event on the user's primary calendar (through the real client); returns it. */
  insert(event: calendar_v3.Schema$Event): Promise<calendar_v3.Schema$Event>;
  /** Patches one event on the primary calendar; returns it as Google answered. */
  patch(eventId: string, patch: calendar_v3.Schema$Event): Promise<calendar_v3.Schema$Event>;
  /** Renames each event on the primary calendar, one patch each, in order. */
  rename(eventIds: string[], summary: string): Promise<void>;
  /** Deletes each event from the primary calendar, in order. */
  remove(eventIds: string[]): Promise<void>;
  /** Google's instances of a recurring event (first page). */
  instances(eventId: string): Promise<calendar_v3.Schema$Event[]>;
}

/** The Calendar simulator (its defaults unless `simulator` says) with one user and a real Calendar client acting as them. */
export function simulatorUserFixture(opts: SimulatorUserOptions): SimulatorUser {
  const { before, after } = hooksFor(opts.scope ?? 'test');
  const state = slot<{ sim: Simulator; ctl: SimulatorClient; cal: calendar_v3.Calendar }>(
    'the simulator',
  );
  let n = 0;
  const email = () => opts.user?.email ?? `${opts.name ?? 'user'}${n}@example.com`;
  const refreshToken = () => opts.user?.refreshToken ?? `rt-${opts.name ?? 'user'}-${n}`;
  before(async () => {
    n += 1;
    const sim = await startSimulator(opts.simulator);
    const ctl = new SimulatorClient(sim.url);
    await ctl.createUser(email(), refreshToken(), opts.timeZone ? { timeZone: opts.timeZone } : {});
    state.set({ sim, ctl, cal: googleCalendar(sim.url, refreshToken()).calendar });
  });
  after(async () => {
    const { sim } = state.get();
    state.set(undefined);
    await sim.close();
  });
  return {
    get sim() {
      return state.get().sim;
    },
    get ctl() {
      return state.get().ctl;
    },
    get cal() {
      return state.get().cal;
    },
    get email() {
      return email();
    },
    get refreshToken() {
      return refreshToken();
    },
    get n() {
      return n;
    },
    async insert(requestBody) {
      return (await state.get().cal.events.insert({ calendarId: email(), requestBody })).data;
    },
    async patch(eventId, requestBody) {
      const { cal } = state.get();
      return (await cal.events.patch({ calendarId: email(), eventId, requestBody })).data;
    },
    async rename(eventIds, summary) {
      const { cal } = state.get();
      for (const eventId of eventIds)
        await cal.events.patch({ calendarId: email(), eventId, requestBody: { summary } });
    },
    async remove(eventIds) {
      const { cal } = state.get();
      for (const eventId of eventIds) await cal.events.delete({ calendarId: email(), eventId });
    },
    async instances(eventId) {
      const { data } = await state.get().cal.events.instances({ calendarId: email(), eventId });
      return data.items ?? [];
    },
  };
}

export interface Changes<T> {
  /** What the listener saw after its first snapshot, in order. */
  readonly changes: T[];
  stop(): void;
}

/**
 * A downstream onSnapshot listener: resolves once its first snapshot arrived, then records every
 * later document change as `pick` describes it.
 */
export async function listenToChanges<T>(
  query: Query,
  pick: (change: DocumentChange) => T,
): Promise<Changes<T>> {
  const changes: T[] = [];
  let first = true;
  let stop: () => void = () => undefined;
  await new Promise<void>((resolve, reject) => {
    stop = query.onSnapshot((snap) => {
      if (first) {
        first = false;
        resolve();
        return;
      }
      for (const c of snap.docChanges()) changes.push(pick(c));
    }, reject);
  });
  return { changes, stop };
}
