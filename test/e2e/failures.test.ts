// End to end under failure: the worker SIGKILLed mid-sync and restarted, Pub/Sub redelivery after transient errors, the dead-letter topic for a message that never succeeds.
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paths, type SubscriptionDoc } from '../../functions/store/schema.js';
import { emulatorsMissing, useEmulators } from '../harness/env.js';
import { startLocalStack, type LocalStack } from '../stack/local-stack.js';
import {
  connectCalendar,
  converged,
  hoursFromNow,
  logBook,
  mirrorDocs,
  newUser,
  waitFor,
  type User,
} from './helpers.js';

describe.skipIf(emulatorsMissing() !== '')('calsync end to end, under failure', () => {
  let stack: LocalStack;
  let db: Firestore;
  const logs = logBook();

  beforeAll(async () => {
    expect(useEmulators()).toBe(true);
    stack = await startLocalStack({
      simulator: { notificationRetryBaseMs: 200, rateLimitPerMinute: 100_000 },
      maxDeliveryAttempts: 5,
      env: {
        CALSYNC_LOG_LEVEL: 'INFO',
        // No backoff inside the worker: a failing call fails the message at once (Pub/Sub retries).
        CALSYNC_RETRY_BUDGET_SECONDS: '0',
        CALSYNC_LEASE_SECONDS: '5',
        CALSYNC_MAX_RESULTS: '50',
      },
      onLine: (target, line) => logs.onLine(target, line),
    });
    db = new Firestore({ projectId: stack.projectId });
  });
  afterAll(async () => {
    await db?.terminate();
    await stack?.stop();
  });

  const readSub = async (id: string) =>
    (await db.doc(paths.subscription(id)).get()).data() as SubscriptionDoc;

  async function insertMany(user: User, n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i += 25) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(25, n - i) }, (_, j) =>
          user.cal.events.insert({
            calendarId: user.email,
            requestBody: {
              summary: `bulk ${i + j}`,
              start: { dateTime: hoursFromNow(i + j + 1) },
              end: { dateTime: hoursFromNow(i + j + 1, 30) },
            },
          }),
        ),
      );
      ids.push(...batch.map((r) => r.data.id!));
    }
    return ids;
  }

  it('worker SIGKILLed in the middle of a paged sync, then restarted: the token never runs ahead of the data, and the mirror converges', async () => {
    const user = await newUser(stack, 'crash');
    const calendarId = user.email;
    await insertMany(user, 600);
    const report = await connectCalendar(stack, user);
    const subscriptionId = report.calendar.subscriptionId;
    const tokenBefore = (await readSub(subscriptionId)).syncToken;
    expect(tokenBefore).toBeTruthy();

    // Slow Google down and force a full sync (12 pages of 50): one notification, a long sync.
    await stack.simClient.setLatency(150);
    await stack.simClient.expireSyncTokens(calendarId);
    await stack.simClient.clearRequests();
    // Edit the event Google lists last, so only a sync that reaches the last page can mirror it.
    const { data: listed } = await user.cal.events.list({ calendarId, maxResults: 2500 });
    const lastId = listed.items!.at(-1)!.id!;
    const { data: edited } = await user.cal.events.patch({
      calendarId,
      eventId: lastId,
      requestBody: { summary: 'edited before the crash' },
    });
    // Kill the worker once it is a few pages into the full sync.
    await waitFor(
      'the worker to be paging through the full sync',
      async () =>
        (await stack.simClient.requests()).filter(
          (r) => r.path.endsWith('/events') && r.query.pageToken !== undefined && r.status === 200,
        ).length >= 3,
      60_000,
      50,
    );
    stack.kill('syncWorker');
    const afterKill = await readSub(subscriptionId);
    // The commit point: the token moves only after the last page, so it is still the old one.
    expect(afterKill.syncToken).toBe(tokenBefore);
    await stack.simClient.setLatency(0);
    await stack.restart('syncWorker');

    // Pub/Sub redelivers the unacknowledged message to the new process.
    await waitFor(
      'the edit in Firestore',
      async () => (await mirrorDocs(db, user.uid, calendarId)).get(lastId)?.etag === edited.etag,
      90_000,
      500,
    );
    // The token is committed after the data (never before), then the lease is released.
    const after = await waitFor(
      'the redelivered sync to commit',
      async () => {
        const s = await readSub(subscriptionId);
        return s.syncToken !== tokenBefore && s.lease === null ? s : undefined;
      },
      60_000,
      300,
    );
    await converged(db, user, calendarId, 60_000);
    expect(after.syncToken).not.toBe(tokenBefore);
    expect(after.lease).toBeNull();
  });

  it('transient 503s fail the message; Pub/Sub redelivers it until the sync succeeds', async () => {
    const user = await newUser(stack, 'redeliver');
    const calendarId = user.email;
    await connectCalendar(stack, user);
    const failuresBefore = logs.find(
      (t, e) => t === 'syncWorker' && e.message === 'sync failed; the message will be redelivered',
    ).length;
    // The next two events.list calls of this calendar answer 503 (the worker has no retry budget).
    await stack.simClient.addFault({
      method: 'GET',
      path: '/redeliver[^/]*\\/events$/',
      status: 503,
      reason: 'backendError',
      count: 2,
    });
    const { data } = await user.cal.events.insert({
      calendarId,
      requestBody: {
        summary: 'needs two redeliveries',
        start: { dateTime: hoursFromNow(3) },
        end: { dateTime: hoursFromNow(4) },
      },
    });
    await waitFor(
      'the event after redeliveries',
      async () => (await mirrorDocs(db, user.uid, calendarId)).get(data.id!)?.etag === data.etag,
      60_000,
      300,
    );
    const failures = logs.find(
      (t, e) => t === 'syncWorker' && e.message === 'sync failed; the message will be redelivered',
    );
    expect(failures.length - failuresBefore).toBeGreaterThanOrEqual(2);
    await converged(db, user, calendarId);
  });

  it('a message that can never succeed lands on the dead-letter topic after 5 attempts', async () => {
    const user = await newUser(stack, 'deadletter');
    const calendarId = user.email;
    const report = await connectCalendar(stack, user);
    const subscriptionId = report.calendar.subscriptionId;
    await stack.simClient.addFault({
      method: 'GET',
      path: '/deadletter[^/]*\\/events$/',
      status: 503,
      reason: 'backendError',
      count: 10_000,
    });
    await user.cal.events.insert({
      calendarId,
      requestBody: {
        summary: 'never synced',
        start: { dateTime: hoursFromNow(3) },
        end: { dateTime: hoursFromNow(4) },
      },
    });
    const dead = await waitFor(
      'the message on the dead-letter topic',
      async () => {
        // The `-inspect` pull subscription of the dead-letter topic, through the emulator's REST API.
        const res = await fetch(
          `http://${stack.pubsubHost}/v1/projects/${stack.projectId}/subscriptions/${stack.deadLetterTopic}-inspect:pull`,
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ maxMessages: 10, returnImmediately: true }),
          },
        );
        const body = (await res.json()) as {
          receivedMessages?: {
            ackId: string;
            message: { data?: string; attributes?: Record<string, string> };
          }[];
        };
        const found = (body.receivedMessages ?? []).find(
          (r) => r.message.attributes?.subscriptionId === subscriptionId,
        );
        return found;
      },
      90_000,
      1000,
    );
    const payload = JSON.parse(Buffer.from(dead.message.data ?? '', 'base64').toString('utf8')) as {
      kind: string;
      subscriptionId: string;
    };
    expect(payload).toMatchObject({ kind: 'notification', subscriptionId });
    const attempts = (await stack.simClient.requests()).filter(
      (r) => r.path.includes('deadletter') && r.path.endsWith('/events') && r.status === 503,
    );
    expect(attempts.length).toBeGreaterThanOrEqual(5);
    // Nothing half-done: the token is the one of the first sync, the error is recorded.
    const sub = await readSub(subscriptionId);
    expect(sub.lastError).not.toBeNull();
    expect(sub.lease).toBeNull();
    await stack.simClient.clearFaults();
  });
});
