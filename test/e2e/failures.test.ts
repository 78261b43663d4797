// End to end under failure: the worker SIGKILLed mid-sync and restarted, Pub/Sub redelivery after transient errors, the dead-letter topic for a message that never succeeds.
import { describe, expect, it } from 'vitest';
import { emulatorsMissing } from '../harness/env.js';
import {
  connectCalendar,
  converged,
  insertHourLong,
  insertHourly,
  newUser,
  stackFixture,
  waitFor,
  waitForMirrored,
} from './helpers.js';

describe.skipIf(emulatorsMissing() !== '')('calsync end to end, under failure', () => {
  const f = stackFixture({
    maxDeliveryAttempts: 5,
    env: {
      // No backoff inside the worker: a failing call fails the message at once (Pub/Sub retries).
      CALSYNC_RETRY_BUDGET_SECONDS: '0',
      CALSYNC_LEASE_SECONDS: '5',
      CALSYNC_MAX_RESULTS: '50',
    },
  });

  it('worker SIGKILLed in the middle of a paged sync, then restarted: the token never runs ahead of the data, and the mirror converges', async () => {
    const user = await newUser(f.stack, 'crash');
    const calendarId = user.email;
    await insertHourly(user, 600, { summary: 'bulk' });
    const report = await connectCalendar(f.stack, user);
    const subscriptionId = report.calendar.subscriptionId;
    const tokenBefore = (await f.readSub(subscriptionId)).syncToken;
    expect(tokenBefore).toBeTruthy();

    // Slow Google down and force a full sync (12 pages of 50): one notification, a long sync.
    await f.stack.simClient.setLatency(150);
    await f.stack.simClient.expireSyncTokens(calendarId);
    await f.stack.simClient.clearRequests();
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
        (await f.stack.simClient.requests()).filter(
          (r) => r.path.endsWith('/events') && r.query.pageToken !== undefined && r.status === 200,
        ).length >= 3,
      60_000,
      50,
    );
    f.stack.kill('syncWorker');
    const afterKill = await f.readSub(subscriptionId);
    // The commit point: the token moves only after the last page, so it is still the old one.
    expect(afterKill.syncToken).toBe(tokenBefore);
    await f.stack.simClient.setLatency(0);
    await f.stack.restart('syncWorker');

    // Pub/Sub redelivers the unacknowledged message to the new process.
    await waitForMirrored(f.db, user, edited, 'the edit in Firestore', 90_000, 500);
    // The token is committed after the data (never before), then the lease is released.
    const after = await waitFor(
      'the redelivered sync to commit',
      async () => {
        const s = await f.readSub(subscriptionId);
        return s.syncToken !== tokenBefore && s.lease === null ? s : undefined;
      },
      60_000,
      300,
    );
    await converged(f.db, user, calendarId, 60_000);
    expect(after.syncToken).not.toBe(tokenBefore);
    expect(after.lease).toBeNull();
  });

  it('transient 503s fail the message; Pub/Sub redelivers it until the sync succeeds', async () => {
    const user = await newUser(f.stack, 'redeliver');
    const calendarId = user.email;
    await connectCalendar(f.stack, user);
    const failuresBefore = f.logs.find(
      (t, e) => t === 'syncWorker' && e.message === 'sync failed; the message will be redelivered',
    ).length;
    // The next two events.list calls of this calendar answer 503 (the worker has no retry budget).
    await f.stack.simClient.addFault({
      method: 'GET',
      path: '/redeliver[^/]*\\/events$/',
      status: 503,
      reason: 'backendError',
      count: 2,
    });
    const event = await insertHourLong(user, 'needs two redeliveries', 3);
    await waitForMirrored(f.db, user, event, 'the event after redeliveries', 60_000, 300);
    const failures = f.logs.find(
      (t, e) => t === 'syncWorker' && e.message === 'sync failed; the message will be redelivered',
    );
    expect(failures.length - failuresBefore).toBeGreaterThanOrEqual(2);
    await converged(f.db, user, calendarId);
  });

  it('a message that can never succeed lands on the dead-letter topic after 5 attempts', async () => {
    const user = await newUser(f.stack, 'deadletter');
    const report = await connectCalendar(f.stack, user);
    const subscriptionId = report.calendar.subscriptionId;
    await f.stack.simClient.addFault({
      method: 'GET',
      path: '/deadletter[^/]*\\/events$/',
      status: 503,
      reason: 'backendError',
      count: 10_000,
    });
    await insertHourLong(user, 'never synced', 3);
    const dead = await waitFor(
      'the message on the dead-letter topic',
      async () => {
        // The `-inspect` pull subscription of the dead-letter topic, through the emulator's REST API.
        const res = await fetch(
          `http://${f.stack.pubsubHost}/v1/projects/${f.stack.projectId}/subscriptions/${f.stack.deadLetterTopic}-inspect:pull`,
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
    const attempts = (await f.stack.simClient.requests()).filter(
      (r) => r.path.includes('deadletter') && r.path.endsWith('/events') && r.status === 503,
    );
    expect(attempts.length).toBeGreaterThanOrEqual(5);
    // Nothing half-done: the token is the one of the first sync, the error is recorded.
    const sub = await f.readSub(subscriptionId);
    expect(sub.lastError).not.toBeNull();
    expect(sub.lease).toBeNull();
    await f.stack.simClient.clearFaults();
  });
});
