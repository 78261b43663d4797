// Integration: renewal recovery (expired / missing / silent channel → new channel + 'recovery' sync), invalid_grant, safety net, the HTTP target.
import { Timestamp } from '@google-cloud/firestore';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../functions/log.js';
import { LOG_EVENTS } from '../../../functions/log-events.js';
import { occurrenceWindow } from '../../../functions/occurrences/model.js';
import { syncDepsOf } from '../../../functions/channels/deps.js';
import { renewChannelsCore } from '../../../functions/renewal/core.js';
import { ROLL_REQUEST_RETRY_MS } from '../../../functions/renewal/phases.js';
import { handleSyncMessage } from '../../../functions/sync/handle.js';
import { createRenewChannels } from '../../../functions/renewal/function.js';
import { paths } from '../../../functions/store/schema.js';
import { emulatorsMissing } from '../../harness/env.js';
import { dueForRollOnly } from '../../harness/subscription-docs.js';
import { connectedUser, renewAndPull, worldFixture } from '../channels/world.js';

const DAY = 24 * 3600 * 1000;

describe.skipIf(emulatorsMissing() !== '')('renewal recovery', () => {
  const w = worldFixture('recover');

  const connected = (name: string) => connectedUser(w, name);

  it('re-creates an expired, a missing and a silent channel and enqueues a recovery sync for each', async () => {
    const expired = await connected('erin');
    const missing = await connected('frank');
    const silent = await connected('grace');
    const calm = await connected('heidi');
    const before = {
      expired: (await expired.read()).channel!.id,
      silent: (await silent.read()).channel!.id,
      calm: (await calm.read()).channel!.id,
    };
    const now = Date.now() + w.offset.ms;
    // Expired: Google's expiration passed (the simulator agrees once the clock moves past it).
    await expired.ref.update({
      'channel.expiration': Timestamp.fromMillis(now - 1000),
      channelExpiresAt: Timestamp.fromMillis(now - 1000),
    });
    await missing.ref.update({ channel: null, channelExpiresAt: null });
    // Silent: heard of last 4 days ago, channel 4 days old (default silence threshold: 3 days).
    await silent.ref.update({
      lastNotificationAt: Timestamp.fromMillis(now - 4 * DAY),
      'channel.createdAt': Timestamp.fromMillis(now - 4 * DAY),
    });
    // A quiet-but-fresh channel is left alone.
    await calm.ref.update({ lastNotificationAt: Timestamp.fromMillis(now - 4 * DAY) });

    const { summary, messages } = await renewAndPull(w);
    expect(summary.failed).toEqual([]);
    expect(summary.recovered).toBe(3);
    expect(summary.renewed).toBe(0);
    const recovery = messages.filter((m) => m.reason === 'recovery').map((m) => m.subscriptionId);
    expect(recovery.sort()).toEqual([expired.id, missing.id, silent.id].sort());
    for (const m of messages) expect(m).toMatchObject({ v: 1, kind: 'resync', full: false });

    expect((await expired.read()).channel!.id).not.toBe(before.expired);
    expect((await missing.read()).channel).not.toBeNull();
    expect((await silent.read()).channel!.id).not.toBe(before.silent);
    expect((await silent.read()).previousChannel!.id).toBe(before.silent);
    expect((await calm.read()).channel!.id).toBe(before.calm);
    const sim = await w.simc.channels();
    expect(sim.find((c) => c.id === before.silent)?.stopped).toBe(true);
    for (const s of [expired, missing, silent]) {
      const id = (await s.read()).channel!.id;
      expect(sim.find((c) => c.id === id)).toMatchObject({ stopped: false, expired: false });
    }

    // A second run right after finds nothing to do.
    const again = await renewChannelsCore(w.deps());
    expect(again.recovered + again.renewed).toBe(0);
  });

  it('invalid_grant during renewal: needs_reauth, reported, not retried by the next run', async () => {
    const ivan = await connected('ivan');
    const before = await ivan.read();
    await w.simc.revoke(ivan.email);
    await w.advance(6.5 * DAY); // inside the renewal window
    const summary = await renewChannelsCore(w.deps());
    expect(summary.failed).toContainEqual({
      subscriptionId: ivan.id,
      reason: expect.stringContaining('needs_reauth'),
    });
    const after = await ivan.read();
    expect(after.status).toBe('needs_reauth');
    expect(after.renewalClaim).toBeNull();
    expect(after.channel?.id).toBe(before.channel?.id);
    // Credentials live per Google account (issue 15.1): only ivan's bound account is revoked.
    const creds = (await w.db.doc(paths.account('ivan', after.accountId!)).get()).data();
    expect(creds?.status).toBe('revoked');
    const cal = (await w.db.doc(paths.calendar('ivan', ivan.email)).get()).data();
    expect(cal?.sync?.status).toBe('needs_reauth');
    const next = await renewChannelsCore(w.deps());
    expect(next.failed.map((f) => f.subscriptionId)).not.toContain(ivan.id);
  });

  it('enqueues a safety-net sync for a subscription not synced within the configured period', async () => {
    const judy = await connected('judy');
    await judy.ref.update({
      lastSyncedAt: Timestamp.fromMillis(Date.now() + w.offset.ms - 7 * 3600 * 1000),
    });
    await w.pull(100);
    const lines: string[] = [];
    const logger = createLogger({ write: (l) => lines.push(l) });
    const summary = await renewChannelsCore({ ...w.deps(), logger });
    const messages = await w.pull();
    expect(messages).toContainEqual(
      expect.objectContaining({ reason: 'safety-net', subscriptionId: judy.id }),
    );
    expect(summary.enqueued).toBeGreaterThanOrEqual(1);
    // The line the stale-calendar alert counts (infra/monitoring.tf), once per run.
    expect(summary.stale).toBeGreaterThanOrEqual(1);
    const stale = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => e.message === LOG_EVENTS.staleCalendars.message);
    expect(stale).toEqual([expect.objectContaining({ severity: 'WARNING', count: summary.stale })]);
    // Synced again (the enqueued sync ran): the next run no longer counts it.
    await judy.ref.update({ lastSyncedAt: Timestamp.fromMillis(Date.now() + w.offset.ms) });
    await w.pull(100);
    lines.length = 0;
    const after = await renewChannelsCore({ ...w.deps(), logger });
    expect(after.stale).toBe(summary.stale - 1);
    const again = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => e.message === LOG_EVENTS.staleCalendars.message);
    const severity = after.stale > 0 ? 'WARNING' : 'INFO';
    expect(again).toEqual([expect.objectContaining({ severity, count: after.stale })]);
    expect(await w.pull()).not.toContainEqual(
      expect.objectContaining({ reason: 'safety-net', subscriptionId: judy.id }),
    );
  });

  it('the HTTP target answers 405 to GET and the JSON summary to POST', async () => {
    const fn = createRenewChannels({ env: w.env, now: () => Date.now() + w.offset.ms });
    const call = async (method: string) => {
      let status = 0;
      let body: unknown;
      const res = {
        set: () => res,
        status: (s: number) => ((status = s), res),
        type: () => res,
        send: (b: unknown) => ((body = b), res),
        json: (b: unknown) => ((body = b), res),
      };
      await fn({ method } as never, res as never);
      return { status, body };
    };
    expect((await call('GET')).status).toBe(405);
    const post = await call('POST');
    expect(post.status).toBe(200);
    expect(post.body).toMatchObject({ renewed: expect.any(Number), remaining: 0, failed: [] });
  });

  it("hands each kept calendar's daily occurrence roll to the worker: one roll message a UTC day, rolled there", async () => {
    const ivan = await connected('ivo');
    expect((await ivan.read()).occurrencesRolledAt ?? null).toBeNull();
    const worker = syncDepsOf(w.deps());
    const rollsFor = (rolls: Record<string, unknown>[]) =>
      rolls.filter((m) => m.subscriptionId === ivan.id);

    // The run rolls nothing itself: it queues one message per calendar and records the request.
    const first = await renewAndPull(w);
    expect(first.summary.failed).toEqual([]);
    expect(first.summary.occurrenceRollsEnqueued).toBeGreaterThanOrEqual(1);
    const [roll, ...more] = rollsFor(first.rolls);
    expect(more).toEqual([]);
    expect(roll).toMatchObject({ v: 1, kind: 'roll', subscriptionId: ivan.id });
    expect((await ivan.read()).occurrencesRolledAt ?? null).toBeNull();
    expect((await ivan.read()).occurrencesRollRequestedAt).toBeTruthy();

    // The next hourly run leaves the queued roll alone.
    expect(rollsFor((await renewAndPull(w)).rolls)).toEqual([]);

    // The worker rolls it; a redelivered or duplicated message costs nothing more.
    expect((await handleSyncMessage(worker, { data: roll })).outcome).toBe('rolled');
    const rolledAt = (await ivan.read()).occurrencesRolledAt!.toMillis();
    // The window's end is kept: the next day's roll computes only what starts after it.
    expect((await ivan.read()).occurrencesRolledThrough!.toMillis()).toBe(
      occurrenceWindow(rolledAt, {
        daysBack: w.config.occurrenceDaysBack,
        daysAhead: w.config.occurrenceDaysAhead,
      }).end,
    );
    expect((await handleSyncMessage(worker, { data: roll })).outcome).toBe('roll_current');
    expect((await ivan.read()).occurrencesRolledAt!.toMillis()).toBe(rolledAt);
    expect(rollsFor((await renewAndPull(w)).rolls)).toEqual([]);

    // A day later it is queued again.
    await ivan.ref.update({
      occurrencesRolledAt: Timestamp.fromMillis(rolledAt - DAY),
      occurrencesRollRequestedAt: Timestamp.fromMillis(rolledAt - DAY),
    });
    expect(rollsFor((await renewAndPull(w)).rolls)).toHaveLength(1);

    // A roll queued today and not done ROLL_REQUEST_RETRY_MS later (dead-lettered) is queued
    // again; one queued less long ago is left alone. The clock moves far enough into its UTC day.
    const sinceMidnight = (Date.now() + w.offset.ms) % DAY;
    if (sinceMidnight < ROLL_REQUEST_RETRY_MS + 3_600_000)
      await w.advance(ROLL_REQUEST_RETRY_MS + 3_600_000 - sinceMidnight);
    const now = Date.now() + w.offset.ms;
    await ivan.ref.update({ occurrencesRollRequestedAt: Timestamp.fromMillis(now - 3_600_000) });
    expect(rollsFor((await renewAndPull(w)).rolls)).toEqual([]);
    await ivan.ref.update({
      occurrencesRollRequestedAt: Timestamp.fromMillis(now - ROLL_REQUEST_RETRY_MS - 60_000),
    });
    expect(rollsFor((await renewAndPull(w)).rolls)).toHaveLength(1);
  });

  it('a roll whose publish fails is reported and not marked; a subscription deleted mid-page leaves the others marked', async () => {
    const kept = await connected('petra');
    const refused = await connected('quinn');
    const deleted = await connected('rolf');
    await w.pull(100);
    const summary = await renewChannelsCore({
      ...w.deps(),
      enqueuer: {
        async enqueue(m) {
          if (m.kind === 'roll' && m.subscriptionId === refused.id)
            throw new Error('publish refused');
          // Deleted after the query read it: the page's batch of marks is refused as a whole.
          if (m.kind === 'roll' && m.subscriptionId === kept.id) await deleted.ref.delete();
          await w.enqueuer.enqueue(m);
        },
      },
    });
    expect(summary.failed).toEqual([
      { subscriptionId: refused.id, reason: expect.stringContaining('publish refused') as string },
    ]);
    expect((await kept.read()).occurrencesRollRequestedAt).toBeTruthy();
    expect((await refused.read()).occurrencesRollRequestedAt ?? null).toBeNull();
    // Never re-created by a mark.
    expect((await deleted.ref.get()).exists).toBe(false);
    // The refused one is queued by the next run; the marked one is not.
    const next = (await renewAndPull(w)).rolls;
    expect(next.map((m) => m.subscriptionId)).toEqual([refused.id]);
  });

  it('rolls the budget leaves over wait for the next run without the budget alert: the view lags, no channel lapses', async () => {
    const now = Date.now() + w.offset.ms;
    // More calendars due than pages in flight, whatever ran before: kept, channel fresh, synced.
    const due = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const ref = w.db.doc(paths.subscription(`s_rollbudget${i}`));
        await ref.set(dueForRollOnly(`rb${i}`, `rb${i}@example.com`, `rb-${i}`, now));
        return { id: ref.id };
      }),
    );
    const lines: string[] = [];
    const base = w.deps();
    // The budget runs out right after the first roll is queued (one calendar per page; pages
    // already started still queue theirs).
    let late = 0;
    await w.pull(100);
    const summary = await renewChannelsCore({
      ...base,
      pageSize: 1,
      logger: createLogger({ write: (l) => lines.push(l) }),
      now: () => base.now() + late,
      enqueuer: {
        async enqueue(m) {
          await w.enqueuer.enqueue(m);
          if (m.kind === 'roll') late = w.config.renewTimeBudgetMs + 1;
        },
      },
    });
    const ids = (rolls: Record<string, unknown>[]) => new Set(rolls.map((m) => m.subscriptionId));
    const first = ids((await w.pull()).filter((m) => m.kind === 'roll'));
    expect(summary.occurrenceRollsEnqueued).toBe(first.size);
    expect(summary.rollsRemaining).toBeGreaterThanOrEqual(1);
    expect(summary.remaining).toBe(0);
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged.filter((e) => e.message === LOG_EVENTS.renewalBudgetUsedUp.message)).toEqual([]);
    expect(logged).toContainEqual(
      expect.objectContaining({
        severity: 'INFO',
        message: 'occurrence rolls left for the next run',
        remaining: summary.rollsRemaining,
      }),
    );
    // The next run queues the rest, and nothing twice.
    const next = ids((await renewAndPull(w)).rolls);
    expect(due.filter((d) => !first.has(d.id) && !next.has(d.id))).toEqual([]);
    expect([...next].filter((id) => first.has(id))).toEqual([]);
  });

  it('a roll message for a removed calendar or an unknown subscription is acknowledged, nothing written', async () => {
    const gone = await connected('olga');
    await gone.ref.update({ status: 'removed' });
    const worker = syncDepsOf(w.deps());
    const roll = (subscriptionId: string) => ({
      data: { v: 1, kind: 'roll', subscriptionId, requestedAt: new Date().toISOString() },
    });
    expect((await handleSyncMessage(worker, roll(gone.id))).outcome).toBe('unknown_subscription');
    expect((await gone.read()).occurrencesRolledAt ?? null).toBeNull();
    expect((await handleSyncMessage(worker, roll('s_nobody'))).outcome).toBe(
      'unknown_subscription',
    );
  });
});
