// End-to-end helpers: the stack fixture, the real `calsync` CLI against it, Google's truth vs the Firestore mirror, waiting on conditions.
import { Firestore } from '@google-cloud/firestore';
import type { calendar_v3 } from '@googleapis/calendar';
import { afterAll, beforeAll, expect } from 'vitest';
import { paths, type SubscriptionDoc } from '../../functions/store/schema.js';
import { googleCalendar } from '../simulator/client.js';
import {
  runCalsync,
  startLocalStack,
  type LocalStack,
  type StackOptions,
} from '../stack/local-stack.js';
import { useEmulators } from '../harness/env.js';
import { slot } from '../harness/fixtures.js';
import { allPages, mirrorDocuments, truthOf } from '../harness/google-truth.js';
import { GOOGLE, maxLag } from '../simulator/realism.js';

export interface StackFixture {
  readonly stack: LocalStack;
  /** A Firestore client on the stack's project. */
  readonly db: Firestore;
  /** Every JSON line the functions logged, by target. */
  readonly logs: LogBook;
  readSub(subscriptionId: string): Promise<SubscriptionDoc>;
}

/**
 * The whole stack for one e2e file, started before its tests and stopped after them. Google is as
 * hard as it really is (`realism: 'google'`: visibility and delivery lags, duplicate and no-delta
 * notifications, live paging, short and empty pages, token lifetime, untidy events). Notifications
 * are retried quickly, the rate limit is out of reach and the functions log at INFO unless
 * `options` says otherwise.
 */
export function stackFixture(options: Omit<StackOptions, 'onLine'> = {}): StackFixture {
  const logs = logBook();
  const state = slot<{ stack: LocalStack; db: Firestore }>('the local stack');
  beforeAll(async () => {
    expect(useEmulators()).toBe(true);
    const stack = await startLocalStack({
      ...options,
      simulator: {
        realism: 'google',
        notificationRetryBaseMs: 200,
        rateLimitPerMinute: 100_000,
        ...options.simulator,
      },
      env: { CALSYNC_LOG_LEVEL: 'INFO', ...options.env },
      onLine: (target, line) => {
        logs.onLine(target, line);
        // CALSYNC_E2E_ECHO=1 prints every function log line (debugging a failing e2e test).
        if (process.env.CALSYNC_E2E_ECHO === '1') process.stderr.write(`[${target}] ${line}\n`);
      },
    });
    state.set({ stack, db: new Firestore({ projectId: stack.projectId }) });
  });
  afterAll(async () => {
    const running = state.peek();
    state.set(undefined);
    await running?.db.terminate();
    await running?.stack.stop();
  });
  return {
    get stack() {
      return state.get().stack;
    },
    get db() {
      return state.get().db;
    },
    logs,
    readSub: async (id) =>
      (await state.get().db.doc(paths.subscription(id)).get()).data() as SubscriptionDoc,
  };
}

export interface ConnectReport {
  calendar: {
    subscriptionId: string;
    calendarId: string;
    sync: { outcome: string; items: number; writes: number };
    channel: { id: string; expiresAt: string } | null;
  };
}

export interface User {
  uid: string;
  email: string;
  refreshToken: string;
  cal: calendar_v3.Calendar;
}

/** A simulator user (primary calendar = email) and a Calendar client acting as them. */
export async function newUser(stack: LocalStack, uid: string): Promise<User> {
  const email = `${uid}@e2e.test`;
  const refreshToken = `1//rt-${uid}`;
  await stack.simClient.createUser(email, refreshToken, { timeZone: 'Europe/Berlin' });
  const { calendar: cal } = googleCalendar(stack.sim.url, refreshToken, {
    forceRefreshOnFailure: true,
  });
  return { uid, email, refreshToken, cal };
}

/**
 * Inserts `n` half-hour events, one an hour from the next hour on, `batch` at a time (`summary`
 * numbered); returns their ids in order.
 */
export async function insertHourly(
  user: User,
  n: number,
  opts: { batch?: number; summary?: string } = {},
): Promise<string[]> {
  const { batch = 25, summary = 'event' } = opts;
  const ids: string[] = [];
  for (let i = 0; i < n; i += batch) {
    const inserted = await Promise.all(
      Array.from({ length: Math.min(batch, n - i) }, (_, j) =>
        user.cal.events.insert({
          calendarId: user.email,
          requestBody: {
            summary: `${summary} ${i + j}`,
            start: { dateTime: hoursFromNow(i + j + 1) },
            end: { dateTime: hoursFromNow(i + j + 1, 30) },
          },
        }),
      ),
    );
    ids.push(...inserted.map((r) => r.data.id!));
  }
  return ids;
}

/** `calsync connect --user U --calendar C --refresh-token - --json`. */
export async function connectCalendar(
  stack: LocalStack,
  user: User,
  calendarId = 'primary',
): Promise<ConnectReport> {
  const out = await runCalsync(
    stack,
    ['connect', '--user', user.uid, '--calendar', calendarId, '--refresh-token', '-', '--json'],
    { stdin: user.refreshToken },
  );
  return JSON.parse(out) as ConnectReport;
}

export interface MirrorDoc {
  id: string;
  etag?: string;
  status?: string;
  recurringEventId?: string;
  summary?: string;
}

/** Every event document (live events and tombstones of cancelled occurrences). */
export function mirrorDocs(
  db: Firestore,
  uid: string,
  calendarId: string,
): Promise<Map<string, MirrorDoc>> {
  return mirrorDocuments<MirrorDoc>(db, uid, calendarId);
}

/** Inserts a one-hour event starting `h` hours from the current hour on the user's primary calendar. */
export async function insertHourLong(
  user: User,
  summary: string,
  h: number,
): Promise<calendar_v3.Schema$Event> {
  const requestBody = {
    summary,
    start: { dateTime: hoursFromNow(h) },
    end: { dateTime: hoursFromNow(h + 1) },
  };
  return (await user.cal.events.insert({ calendarId: user.email, requestBody })).data;
}

/** Waits until the mirror of the user's primary calendar holds `event` at its etag. */
export async function waitForMirrored(
  db: Firestore,
  user: User,
  event: calendar_v3.Schema$Event,
  what: string,
  timeoutMs?: number,
  intervalMs?: number,
): Promise<void> {
  await waitFor(
    what,
    async () => (await mirrorDocs(db, user.uid, user.email)).get(event.id!)?.etag === event.etag,
    timeoutMs,
    intervalMs,
  );
}

/** Differences between Google and the mirror (empty when they are equal: ids and etags). */
export async function differences(
  db: Firestore,
  user: User,
  calendarId: string,
): Promise<string[]> {
  const [t, m] = await Promise.all([
    truthOf(user.cal, calendarId),
    mirrorDocs(db, user.uid, calendarId),
  ]);
  const out: string[] = [];
  for (const [id, etag] of t) {
    if (!m.has(id)) out.push(`missing ${id}`);
    else if (m.get(id)!.etag !== etag) out.push(`stale ${id}`);
  }
  for (const id of m.keys()) if (!t.has(id)) out.push(`extra ${id}`);
  return out;
}

/** Polls `check` until it returns true (or a truthy value); fails with `what` and the last state. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 60_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Waits until the mirror of (user, calendar) equals Google exactly; returns the event count. */
export async function converged(
  db: Firestore,
  user: User,
  calendarId: string,
  timeoutMs = 60_000,
): Promise<number> {
  let diff: string[] = [];
  // Google's listing lags its writes too (visibility lag): a mirror equal to a listing taken just
  // after the last write may equal a past state. Equal on checks spanning the largest lag, it is
  // equal to the settled calendar.
  const settleMs = maxLag(GOOGLE.visibilityLagMs) + 500;
  let equalSince: number | undefined;
  try {
    return await waitFor(
      `the mirror of ${user.uid}/${calendarId} to equal Google`,
      async () => {
        diff = await differences(db, user, calendarId);
        if (diff.length > 0) return ((equalSince = undefined), false);
        equalSince ??= Date.now();
        if (Date.now() - equalSince < settleMs) return false;
        return (await truthOf(user.cal, calendarId)).size || true;
      },
      timeoutMs,
      500,
    ).then((v) => (typeof v === 'number' ? v : 0));
  } catch (err) {
    throw new Error(
      `${(err as Error).message}; differences (${diff.length}): ${diff.slice(0, 10).join(', ')}`,
    );
  }
}

/** Parsed JSON log lines of the functions, by target. */
export interface LogBook {
  lines: { target: string; entry: Record<string, unknown> }[];
  onLine(target: string, line: string): void;
  find(pred: (target: string, e: Record<string, unknown>) => boolean): Record<string, unknown>[];
}

export function logBook(): LogBook {
  const lines: LogBook['lines'] = [];
  return {
    lines,
    onLine(target, line) {
      try {
        const entry = JSON.parse(line) as unknown;
        if (typeof entry === 'object' && entry !== null) {
          lines.push({ target, entry: entry as Record<string, unknown> });
        }
      } catch {
        // functions-framework's banner lines are not JSON
      }
    },
    find: (pred) => lines.filter((l) => pred(l.target, l.entry)).map((l) => l.entry),
  };
}

export const hoursFromNow = (h: number, minutes = 0): string =>
  new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 + h * 3_600_000 + minutes * 60_000)
    .toISOString()
    .replace('.000Z', 'Z');

/**
 * events.instances of a series just written. Google lists a change only after a lag (the
 * simulator's `realism: 'google'` models it): until then the series answers 404 or no instances,
 * so a client retries, as it would against Google.
 */
export async function instancesWhenListable(
  cal: calendar_v3.Calendar,
  calendarId: string,
  eventId: string,
  timeoutMs = 45_000,
): Promise<calendar_v3.Schema$Event[]> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    try {
      // Every page: under realism a page (the first too) can be empty with more to come.
      const items = await allPages((pageToken) =>
        cal.events.instances({ calendarId, eventId, ...(pageToken ? { pageToken } : {}) }),
      );
      if (items.length > 0) return items;
      last = 'no instances';
    } catch (err) {
      if ((err as { status?: number }).status !== 404) throw err;
      last = '404';
    }
    if (Date.now() > deadline) {
      throw new Error(`series ${eventId} never became listable in ${timeoutMs} ms (last: ${last})`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
