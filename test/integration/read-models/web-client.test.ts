// A downstream web client on the emulator: the web SDK, signed in as the user, listens to "this week" on the occurrence view through the security rules with calsync's converter.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initializeTestEnvironment, type RulesTestEnvironment } from '@firebase/rules-unit-testing';
import { deleteApp, initializeApp, type FirebaseApp } from 'firebase/app';
import {
  collection,
  connectFirestoreEmulator,
  getDoc,
  doc,
  getFirestore,
  onSnapshot,
  orderBy,
  query,
  setLogLevel,
  Timestamp,
  where,
  type FirestoreError,
  type QuerySnapshot,
} from 'firebase/firestore';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  calendarConverter,
  calendarPath,
  occurrenceConverter,
  occurrencesPath,
  type OccurrenceDocument,
} from '../../../functions/read-models/web.js';
import { handleSyncMessage } from '../../../functions/sync/handle.js';
import { runSync } from '../../../functions/sync/engine.js';
import { emulatorsMissing } from '../../harness/env.js';
import { waitFor } from '../../harness/processes.js';
import { REPO_ROOT } from '../../stack/local-stack.js';
import { syncFixture } from '../sync/helpers.js';

const DAY = 86_400_000;
const CHANNEL = { id: 'ch-web', resourceId: 'res-web' };

/** This week, Monday 00:00 UTC to the next Monday (exclusive). */
function thisWeek(now = Date.now()): { start: number; end: number } {
  const today = Math.floor(now / DAY) * DAY;
  const monday = today - ((new Date(today).getUTCDay() + 6) % 7) * DAY;
  return { start: monday, end: monday + 7 * DAY };
}

const iso = (ms: number) => new Date(ms).toISOString();
/** Fixed once, so both tests mean the same week even across a Monday midnight. */
const WEEK = thisWeek();

describe.skipIf(emulatorsMissing() !== '')('a web client reading the occurrence view', () => {
  // One user and calendar for the file: the second test reads what the first one synced.
  const f = syncFixture({ name: 'webclient', channel: CHANNEL, scope: 'file' });
  let rules: RulesTestEnvironment;
  const apps: FirebaseApp[] = [];
  const stops: (() => void)[] = [];

  beforeAll(async () => {
    setLogLevel('silent'); // the refused listener would log PERMISSION_DENIED
    const hostPort = inject('firestoreHost');
    const at = hostPort.lastIndexOf(':');
    // Loads infra/firestore.rules for this file's project (rules are per project on the emulator).
    rules = await initializeTestEnvironment({
      projectId: f.projectId,
      firestore: {
        rules: readFileSync(join(REPO_ROOT, 'infra', 'firestore.rules'), 'utf8'),
        host: hostPort.slice(0, at),
        port: Number(hostPort.slice(at + 1)),
      },
    });
  });
  afterEach(() => stops.splice(0).forEach((stop) => stop()));
  afterAll(async () => {
    await Promise.all(apps.splice(0).map((app) => deleteApp(app)));
    await rules?.cleanup();
  });

  /** The web SDK on the emulator, signed in as `uid` (the emulator's mock user token). */
  function webClientAs(uid: string) {
    const app = initializeApp(
      { projectId: f.projectId, apiKey: 'demo-key' },
      `${uid}-${apps.length}`,
    );
    apps.push(app);
    const db = getFirestore(app);
    const hostPort = inject('firestoreHost');
    const at = hostPort.lastIndexOf(':');
    connectFirestoreEmulator(db, hostPort.slice(0, at), Number(hostPort.slice(at + 1)), {
      mockUserToken: { user_id: uid },
    });
    return db;
  }

  /** The README's "this week" listener, as a downstream app writes it. */
  function listenToThisWeek(uid: string, asUser: string) {
    const week = WEEK;
    const snapshots: QuerySnapshot<OccurrenceDocument<Timestamp>>[] = [];
    const errors: FirestoreError[] = [];
    const thisWeekQuery = query(
      collection(webClientAs(asUser), occurrencesPath(uid, f.seeded.calendarId)).withConverter(
        occurrenceConverter,
      ),
      where('startAt', '>=', Timestamp.fromMillis(week.start)),
      where('startAt', '<', Timestamp.fromMillis(week.end)),
      orderBy('startAt'),
    );
    stops.push(
      onSnapshot(
        thisWeekQuery,
        (s) => snapshots.push(s),
        (e) => errors.push(e),
      ),
    );
    return { snapshots, errors, week };
  }

  it('sees a change made at Google arrive after the worker synced it, typed by the converter', async () => {
    expect((await runSync(f.deps(), f.seeded.subscriptionId)).outcome).toBe('synced');
    const { uid } = f.seeded;
    const listener = listenToThisWeek(uid, uid);
    await waitFor('the first snapshot', async () => listener.snapshots.length > 0, undefined);
    expect(listener.snapshots[0]!.size).toBe(0);

    // At Google: a one-off meeting and a three-day series this week, one meeting next week.
    const { week } = listener;
    await f.insert({
      summary: 'Design review',
      start: { dateTime: iso(week.start + 4 * DAY + 14 * 3_600_000) },
      end: { dateTime: iso(week.start + 4 * DAY + 15 * 3_600_000) },
    });
    const standup = await f.insert({
      summary: 'Standup',
      start: { dateTime: iso(week.start + DAY + 9 * 3_600_000), timeZone: 'UTC' },
      end: { dateTime: iso(week.start + DAY + 9.25 * 3_600_000), timeZone: 'UTC' },
      recurrence: ['RRULE:FREQ=DAILY;COUNT=3'],
    });
    await f.insert({
      summary: 'Next week',
      start: { dateTime: iso(week.end + 10 * 3_600_000) },
      end: { dateTime: iso(week.end + 11 * 3_600_000) },
    });
    // The notification reaches the worker, which syncs the mirror and its occurrence view.
    expect((await handleSyncMessage(f.deps(), f.notification())).outcome).toBe('synced');

    await waitFor(
      'this week in the listener',
      async () => listener.snapshots.at(-1)!.size === 4,
      undefined,
    );
    expect(listener.errors).toEqual([]);
    const latest = listener.snapshots.at(-1)!;
    const occurrences = latest.docs.map((d) => ({ id: d.id, ...d.data() }));
    expect(occurrences.map((o) => [o.summary, iso(o.startAt.toMillis())])).toEqual([
      ['Standup', iso(week.start + DAY + 9 * 3_600_000)],
      ['Standup', iso(week.start + 2 * DAY + 9 * 3_600_000)],
      ['Standup', iso(week.start + 3 * DAY + 9 * 3_600_000)],
      ['Design review', iso(week.start + 4 * DAY + 14 * 3_600_000)],
    ]);
    // The converter hands the web SDK's own Timestamps and the read model's fields.
    const [first] = occurrences;
    expect(first!.startAt).toBeInstanceOf(Timestamp);
    expect(first!.endAt.toMillis() - first!.startAt.toMillis()).toBe(15 * 60_000);
    expect(first).toMatchObject({
      eventId: standup.id,
      recurringEventId: standup.id,
      sourceEventId: standup.id,
      allDay: false,
      status: 'confirmed',
    });
    expect(first!.id.startsWith(`${standup.id}_`)).toBe(true);

    // The calendar document through its converter: contract A, defaults included.
    const calendar = await getDoc(
      doc(webClientAs(uid), calendarPath(uid, f.seeded.calendarId)).withConverter(
        calendarConverter,
      ),
    );
    expect(calendar.data()?.sync).toMatchObject({
      status: 'active',
      lastError: null,
      nextRetryAt: null,
      quarantined: 0,
    });
    expect(calendar.data()?.sync.lastSyncedAt).toBeInstanceOf(Timestamp);
  });

  it("refuses another signed-in user's listener on the same week (security rules)", async () => {
    const { uid } = f.seeded;
    const owner = listenToThisWeek(uid, uid);
    const intruder = listenToThisWeek(uid, `${uid}-other`);
    await waitFor('the refusal', async () => intruder.errors.length > 0, undefined);
    expect(intruder.errors[0]!.code).toBe('permission-denied');
    expect(intruder.snapshots).toEqual([]);
    await waitFor('the owner', async () => owner.snapshots.length > 0, undefined);
    expect(owner.snapshots[0]!.size).toBe(4);
  });
});
