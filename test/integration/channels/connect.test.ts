// Integration: connect through the lifecycle core on the Firestore emulator + simulator — idempotence, encryption at rest, polling fallback, --all.
import { describe, expect, it } from 'vitest';
import { connect } from '../../../functions/cli/commands/connect.js';
import { parseConfig } from '../../../functions/config.js';
import { loadRefreshToken } from '../../../functions/credentials/store.js';
import { subscriptionIdFor } from '../../../functions/ids.js';
import { renewChannelsCore } from '../../../functions/renewal/core.js';
import { syncDepsOf } from '../../../functions/channels/deps.js';
import { calendarListNotifier } from '../../../functions/worker/function.js';
import { handleSyncMessage } from '../../../functions/sync/handle.js';
import {
  calendarListWatchIdFor,
  calendarListWatchPath,
} from '../../../functions/store/calendar-list-watches.js';
import {
  paths,
  type CredentialsDoc,
  type SubscriptionDoc,
} from '../../../functions/store/schema.js';
import { emulatorsMissing } from '../../harness/env.js';
import { googleCalendar } from '../../simulator/client.js';
import { KEY_A, KEY_B, worldFixture } from './world.js';

describe.skipIf(emulatorsMissing() !== '')('connect (lifecycle core)', () => {
  const w = worldFixture('connect');

  const sub = async (uid: string, calendarId: string) =>
    (await w.db.doc(paths.subscription(subscriptionIdFor(uid, calendarId))).get()).data() as
      SubscriptionDoc | undefined;

  it('resolves primary, syncs, opens one channel; connecting twice leaves one subscription and one live channel', async () => {
    const token = '1//refresh-alice-0123456789';
    await w.simc.createUser('alice@example.com', token);
    const { calendar } = googleCalendar(w.sim.url, token);
    await calendar.events.insert({
      calendarId: 'primary',
      requestBody: {
        summary: 'standup',
        start: { dateTime: '2030-01-01T09:00:00Z' },
        end: { dateTime: '2030-01-01T09:15:00Z' },
      },
    });
    const first = await connect(w.deps(), {
      uid: 'alice',
      calendarId: 'primary',
      refreshToken: token,
      all: false,
    });
    expect(first.calendar.calendarId).toBe('alice@example.com');
    expect(first.calendar.sync.outcome).toBe('synced');
    expect(first.calendar.channel).not.toBeNull();
    const events = await w.db.collection(paths.events('alice', 'alice@example.com')).get();
    expect(events.size).toBe(1);

    const second = await connect(w.deps(), {
      uid: 'alice',
      calendarId: 'alice@example.com',
      refreshToken: token,
      all: false,
    });
    expect(second.calendar.created).toBe(false);
    expect(second.calendar.channel?.id).toBe(first.calendar.channel?.id);
    const subs = await w.db.collection('subscriptions').where('uid', '==', 'alice').get();
    expect(subs.size).toBe(1);
    const live = (await w.simc.channels()).filter(
      (c) => c.target === 'alice@example.com' && !c.stopped && !c.expired,
    );
    expect(live.map((c) => c.id)).toEqual([first.calendar.channel?.id]);
    // The stored expiration is the one Google returned.
    const doc = await sub('alice', 'alice@example.com');
    expect(doc?.channel?.expiration.toMillis()).toBe(live[0]?.expiration);
    expect(doc?.channelExpiresAt?.toMillis()).toBe(live[0]?.expiration);
    expect(doc?.mode).toBe('push');
    const cal = (await w.db.doc(paths.calendar('alice', 'alice@example.com')).get()).data();
    expect(cal?.sync?.status).toBe('active');
    expect(cal?.sync?.mode).toBe('push');
  });

  it('stores the refresh token encrypted (no plaintext) and re-encrypts it after a key rotation', async () => {
    const token = '1//refresh-bob-secret-value-xyz';
    await w.simc.createUser('bob@example.com', token);
    const r = await connect(w.deps(), {
      uid: 'bob',
      calendarId: 'primary',
      refreshToken: token,
      all: false,
    });
    // Stored per Google account (issue 15.1): credentials/{uid}/accounts/{accountId}.
    const credPath = paths.account('bob', r.account.accountId);
    const snap = await w.db.doc(credPath).get();
    const raw = JSON.stringify(snap.data());
    expect(raw).not.toContain(token);
    expect(raw).not.toContain('refresh-bob');
    const stored = snap.data() as CredentialsDoc;
    expect(stored.keyId).toBe(w.config.tokenKeys.current.id);

    // Rotate: B is now current, A previous. The token still loads and is re-sealed with B.
    const rotated = parseConfig(
      { ...w.env, CALSYNC_TOKEN_KEY: KEY_B, CALSYNC_TOKEN_KEY_PREVIOUS: KEY_A },
      'cli',
    );
    expect(await loadRefreshToken(w.db, rotated.tokenKeys, 'bob')).toBe(token);
    const after = (await w.db.doc(credPath).get()).data() as CredentialsDoc;
    expect(after.keyId).toBe(rotated.tokenKeys.current.id);
    expect(after.refreshTokenCiphertext).not.toBe(stored.refreshTokenCiphertext);
    expect(JSON.stringify(after)).not.toContain(token);
    // Renewal with the rotated keys still works for bob.
    const renewDeps = w.deps({ config: rotated });
    await w.db.doc(paths.subscription(subscriptionIdFor('bob', 'bob@example.com'))).update({
      channelExpiresAt: null,
      channel: null,
    });
    const summary = await renewChannelsCore(renewDeps);
    expect(summary.failed).toEqual([]);
    expect(summary.recovered).toBeGreaterThanOrEqual(1);
  });

  it('connects a calendar that refuses push in polling mode, and renewal enqueues a poll sync', async () => {
    const token = '1//refresh-carol-0123456789';
    await w.simc.createUser('carol@example.com', token);
    const holidays = await w.simc.createCalendar('carol@example.com', {
      id: 'en.usa#holiday@group.v.calendar.google.com',
      summary: 'Holidays',
    });
    await w.simc.setPushUnsupported(holidays);
    const r = await connect(w.deps(), {
      uid: 'carol',
      calendarId: holidays,
      refreshToken: token,
      all: false,
    });
    expect(r.calendar.mode).toBe('poll');
    expect(r.calendar.channel).toBeNull();
    const doc = await sub('carol', holidays);
    expect(doc?.mode).toBe('poll');
    expect(doc?.status).toBe('active');
    expect(doc?.channel).toBeNull();
    expect(doc?.lastSyncedAt).not.toBeNull();
    await w.pull(100); // drop anything earlier tests enqueued
    const summary = await renewChannelsCore(w.deps());
    expect(summary.failed).toEqual([]);
    const messages = await w.pull();
    expect(messages).toContainEqual(
      expect.objectContaining({
        kind: 'resync',
        reason: 'poll',
        subscriptionId: subscriptionIdFor('carol', holidays),
      }),
    );
  });

  it('--all watches the calendar list; renewal connects a calendar added later and removes a deleted one', async () => {
    const token = '1//refresh-dave-0123456789';
    await w.simc.createUser('dave@example.com', token);
    const work = await w.simc.createCalendar('dave@example.com', { summary: 'Work' });
    const r = await connect(w.deps(), {
      uid: 'dave',
      calendarId: 'primary',
      refreshToken: token,
      all: true,
    });
    expect(r.calendarList?.added).toEqual([work]);
    expect((await sub('dave', work))?.lastSyncedAt).not.toBeNull();
    const watch = (
      await w.db
        .doc(calendarListWatchPath(calendarListWatchIdFor('dave', r.account.accountId)))
        .get()
    ).data();
    expect(watch?.channel?.id).toBeTruthy();
    const listChannels = (await w.simc.channels()).filter(
      (c) => c.kind === 'calendarList' && c.target === 'dave@example.com' && !c.stopped,
    );
    expect(listChannels.map((c) => c.id)).toEqual([watch?.channel?.id]);

    const added = await w.simc.createCalendar('dave@example.com', { summary: 'Gym' });
    await w.simc.deleteCalendar(work);
    await w.pull(100);
    const summary = await renewChannelsCore(w.deps());
    expect(summary.calendarLists.added).toBe(1);
    expect(summary.calendarLists.removed).toBe(1);
    const gym = await sub('dave', added);
    expect(gym?.status).toBe('active');
    expect(gym?.channel?.id).toBeTruthy();
    expect((await sub('dave', work))?.status).toBe('removed');
    const messages = await w.pull();
    expect(messages).toContainEqual(
      expect.objectContaining({
        reason: 'connect',
        full: true,
        subscriptionId: subscriptionIdFor('dave', added),
      }),
    );
  });

  it('--all: the worker answers a calendar-list notification by connecting the calendar added', async () => {
    const token = '1//refresh-erin-list-0123456789';
    await w.simc.createUser('erinlist@example.com', token);
    const connected = await connect(w.deps(), {
      uid: 'erinlist',
      calendarId: 'primary',
      refreshToken: token,
      all: true,
    });
    const watchId = calendarListWatchIdFor('erinlist', connected.account.accountId);
    const watch = (await w.db.doc(calendarListWatchPath(watchId)).get()).data();
    const added = await w.simc.createCalendar('erinlist@example.com', { summary: 'Climbing' });
    const lifecycle = w.deps();
    const syncDeps = { ...syncDepsOf(lifecycle), holderId: 'worker-test' };
    syncDeps.calendarListNotification = calendarListNotifier(syncDeps, lifecycle);
    const result = await handleSyncMessage(syncDeps, {
      data: {
        v: 1,
        kind: 'notification',
        subscriptionId: watchId,
        channelId: watch!.channel!.id,
        resourceId: watch!.channel!.resourceId,
        state: 'exists',
        messageNumber: 2,
        receivedAt: new Date().toISOString(),
      },
    });
    expect(result.outcome).toBe('calendar_list');
    const climbing = await sub('erinlist', added);
    expect(climbing?.status).toBe('active');
    expect(climbing?.lastSyncedAt).not.toBeNull(); // synced by the worker itself
    expect(climbing?.channel?.id).toBeTruthy();
    // Without the hook (or for an id that is no watch) it stays an unknown subscription.
    const plain = await handleSyncMessage(syncDepsOf(lifecycle), {
      data: {
        v: 1,
        kind: 'notification',
        subscriptionId: 's_AAAAAAAAAAAAAAAAAAAAAAAA',
        channelId: 'nope',
        resourceId: 'nope',
        state: 'exists',
        messageNumber: 1,
        receivedAt: new Date().toISOString(),
      },
    });
    expect(plain.outcome).toBe('unknown_subscription');
  });
});
