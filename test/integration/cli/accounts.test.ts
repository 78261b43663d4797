// Integration (emulators + simulator): credentials per user and Google account — a second account never touches the first's calendars, the migration, AES-GCM binding, key problems, revocation (issue 15).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../../functions/cli/commands/accounts.js';
import { connect } from '../../../functions/cli/commands/connect.js';
import { disconnect } from '../../../functions/cli/commands/disconnect.js';
import { status } from '../../../functions/cli/commands/status.js';
import { migrate } from '../../../functions/cli/commands/accounts.js';
import { syncDepsOf } from '../../../functions/channels/deps.js';
import { upsertSubscription } from '../../../functions/channels/subscription.js';
import { parseConfig } from '../../../functions/config.js';
import {
  CredentialsProblem,
  loadRefreshToken,
  saveCredentials,
} from '../../../functions/credentials/store.js';
import { subscriptionIdFor } from '../../../functions/ids.js';
import { renewChannelsCore } from '../../../functions/renewal/core.js';
import {
  paths,
  type CredentialsDoc,
  type SubscriptionDoc,
} from '../../../functions/store/schema.js';
import { runSync } from '../../../functions/sync/engine.js';
import { handleSyncMessage } from '../../../functions/sync/handle.js';
import { emulatorsMissing } from '../../harness/env.js';
import { googleCalendar } from '../../simulator/client.js';
import { createWorld, KEY_A, KEY_B, type World } from '../channels/world.js';

const KEY_C = Buffer.alloc(32, 11).toString('base64');

describe.skipIf(emulatorsMissing() !== '')('Google accounts (issue 15.1, 15.4, 15.5)', () => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld('accounts');
  });
  afterAll(async () => {
    await w?.close();
  });

  const sub = async (uid: string, calendarId: string) =>
    (await w.db.doc(paths.subscription(subscriptionIdFor(uid, calendarId))).get()).data() as
      SubscriptionDoc | undefined;
  const calDoc = async (uid: string, calendarId: string) =>
    (await w.db.doc(paths.calendar(uid, calendarId)).get()).data();
  const addEvent = (token: string, calendarId: string, summary: string) =>
    googleCalendar(w.sim.url, token).calendar.events.insert({
      calendarId,
      requestBody: {
        summary,
        start: { dateTime: '2030-03-01T09:00:00Z' },
        end: { dateTime: '2030-03-01T10:00:00Z' },
      },
    });
  const sync = (uid: string, calendarId: string) =>
    runSync(syncDepsOf(w.deps()), subscriptionIdFor(uid, calendarId), { trigger: 'test' });

  it("connecting a second Google account never rebinds or removes the first account's calendars", async () => {
    const work = '1//alice-work-refresh-0123456789';
    const home = '1//alice-home-refresh-0123456789';
    await w.simc.createUser('alice.work@example.com', work);
    await w.simc.createUser('alice.home@example.com', home);
    const team = await w.simc.createCalendar('alice.work@example.com', { summary: 'Team' });
    const a = await connect(w.deps(), {
      uid: 'alice',
      calendarId: 'primary',
      refreshToken: work,
      all: true,
    });
    expect(a.calendarList?.added).toEqual([team]);
    const b = await connect(w.deps(), {
      uid: 'alice',
      calendarId: 'primary',
      refreshToken: home,
      all: true,
    });
    expect(a.account.accountId).not.toBe(b.account.accountId);
    expect(a.account).toMatchObject({ email: 'alice.work@example.com', identity: 'openid' });
    expect(b.account.email).toBe('alice.home@example.com');
    // The sub claim is Google's stable account id, never the address.
    expect(a.account.accountId).toBe((await w.simc.user('alice.work@example.com')).sub);

    // Each calendar bound to its own account; the work calendars untouched by the home connect.
    for (const id of ['alice.work@example.com', team]) {
      expect(await sub('alice', id)).toMatchObject({
        status: 'active',
        accountId: a.account.accountId,
      });
      expect((await calDoc('alice', id))?.sync?.account).toBe('alice.work@example.com');
    }
    expect(await sub('alice', 'alice.home@example.com')).toMatchObject({
      status: 'active',
      accountId: b.account.accountId,
    });
    const creds = await w.db.collection(paths.accounts('alice')).get();
    expect(creds.docs.map((d) => (d.data() as CredentialsDoc).email).sort()).toEqual([
      'alice.home@example.com',
      'alice.work@example.com',
    ]);

    // The work calendar still syncs with the work token (before accounts: the home token → 404 → removed).
    await addEvent(work, team, 'planning');
    expect((await sync('alice', team)).outcome).toBe('synced');
    const events = await w.db.collection(paths.events('alice', team)).get();
    expect(events.docs.map((d) => d.get('summary'))).toContain('planning');
    // Both calendar lists are reconciled; neither removes the other account's calendars.
    const summary = await renewChannelsCore(w.deps());
    expect(summary.calendarLists).toMatchObject({ reconciled: 2, removed: 0 });
    expect((await sub('alice', team))?.status).toBe('active');

    const report = await status(w.deps(), 'alice');
    expect(report.subscriptions.map((r) => [r.calendar, r.account]).sort()).toEqual(
      [
        ['alice.home@example.com', 'alice.home@example.com'],
        ['alice.work@example.com', 'alice.work@example.com'],
        [team, 'alice.work@example.com'],
      ].sort(),
    );
  });

  it('a calendar already syncing through a working account is kept; once that account is revoked, connecting moves it', async () => {
    const one = '1//bea-one-refresh-0123456789';
    const two = '1//bea-two-refresh-0123456789';
    await w.simc.createUser('bea.one@example.com', one);
    await w.simc.createUser('bea.two@example.com', two);
    const shared = await w.simc.createCalendar('bea.one@example.com', { summary: 'Shared' });
    await w.simc.shareCalendar(shared, 'bea.two@example.com', 'reader');
    const first = await connect(w.deps(), {
      uid: 'bea',
      calendarId: shared,
      refreshToken: one,
      all: false,
    });
    const kept = await connect(w.deps(), {
      uid: 'bea',
      calendarId: shared,
      refreshToken: two,
      all: false,
    });
    expect(kept.calendar.keptWith).toBe('bea.one@example.com');
    expect((await sub('bea', shared))?.accountId).toBe(first.account.accountId);

    await w.simc.revoke('bea.one@example.com');
    expect((await sync('bea', shared)).outcome).toBe('needs_reauth');
    const moved = await connect(w.deps(), {
      uid: 'bea',
      calendarId: shared,
      refreshToken: two,
      all: false,
    });
    expect(moved.calendar.keptWith).toBeUndefined();
    expect(await sub('bea', shared)).toMatchObject({
      status: 'active',
      accountId: moved.account.accountId,
    });
    expect((await calDoc('bea', shared))?.sync?.account).toBe('bea.two@example.com');
  });

  it('the AES-GCM associated data binds uid and account: a ciphertext copied to another document does not decrypt', async () => {
    const token = '1//carl-refresh-0123456789';
    await w.simc.createUser('carl@example.com', token);
    const r = await connect(w.deps(), {
      uid: 'carl',
      calendarId: 'primary',
      refreshToken: token,
      all: false,
    });
    const original = (
      await w.db.doc(paths.account('carl', r.account.accountId)).get()
    ).data() as CredentialsDoc;
    expect(original.sealVersion).toBe(2);
    // Same account id under another user, and another account id under the same user.
    for (const [uid, accountId] of [
      ['mallory', r.account.accountId],
      ['carl', 'another-account'],
    ] as const) {
      await w.db.doc(paths.account(uid, accountId)).set({ ...original, uid, accountId });
      await expect(loadRefreshToken(w.db, w.config.tokenKeys, { uid, accountId })).rejects.toThrow(
        CredentialsProblem,
      );
      await w.db.doc(paths.account(uid, accountId)).delete();
    }
    expect(
      await loadRefreshToken(w.db, w.config.tokenKeys, {
        uid: 'carl',
        accountId: r.account.accountId,
      }),
    ).toBe(token);
  });

  it('the migration moves legacy credentials to their account (OpenID sub, or the primary calendar for old grants) and binds the subscriptions', async () => {
    const withOpenId = '1//legacy-dora-refresh-0123456789';
    const oldGrant = '1//legacy-emil-refresh-0123456789';
    await w.simc.createUser('dora@example.com', withOpenId);
    // A grant from before calsync asked for openid: no id_token, identified by its primary calendar.
    await w.simc.createUser('emil@example.com', oldGrant, {
      scopes: ['https://www.googleapis.com/auth/calendar'],
    });
    // What the code before accounts left behind: credentials/{uid}, unbound subscriptions.
    for (const [uid, email, token] of [
      ['dora', 'dora@example.com', withOpenId],
      ['emil', 'emil@example.com', oldGrant],
    ] as const) {
      await saveCredentials(w.db, w.config.tokenKeys, uid, token, ['calendar.readonly']);
      await upsertSubscription(
        w.db,
        uid,
        { id: email, summary: undefined, timeZone: undefined },
        w.deps().now(),
      );
      await addEvent(token, email, `before ${uid}`);
      // Legacy data still works before the migration runs (first use reads credentials/{uid}).
      expect((await sync(uid, email)).outcome).toBe('synced');
    }
    const dry = await migrate(w.deps(), true);
    expect(dry.users.map((u) => u.outcome)).toEqual(['migrated', 'migrated']);
    expect((await w.db.doc(paths.credentials('dora')).get()).exists).toBe(true);

    const report = await migrate(w.deps(), false);
    const byUid = Object.fromEntries(report.users.map((u) => [u.uid, u]));
    expect(byUid.dora).toMatchObject({
      outcome: 'migrated',
      account: 'dora@example.com',
      bound: 1,
    });
    expect(byUid.emil).toMatchObject({
      outcome: 'migrated',
      account: 'emil@example.com',
      bound: 1,
    });
    const doraSub = (await w.simc.user('dora@example.com')).sub;
    for (const [uid, email, accountId, identity] of [
      ['dora', 'dora@example.com', doraSub, 'openid'],
      ['emil', 'emil@example.com', 'email:emil@example.com', 'primary-calendar'],
    ] as const) {
      expect((await w.db.doc(paths.credentials(uid)).get()).exists).toBe(false);
      const cred = (await w.db.doc(paths.account(uid, accountId)).get()).data() as CredentialsDoc;
      expect(cred).toMatchObject({
        uid,
        accountId,
        email,
        identity,
        sealVersion: 2,
        status: 'valid',
      });
      expect((await sub(uid, email))?.accountId).toBe(accountId);
      expect((await calDoc(uid, email))?.sync?.account).toBe(email);
      expect((await sync(uid, email)).outcome).toBe('synced');
    }
    // Idempotent.
    expect((await migrate(w.deps(), false)).users).toEqual([]);
  });

  it('an unbound subscription gets its account on first use', async () => {
    const token = '1//fay-refresh-0123456789';
    await w.simc.createUser('fay@example.com', token);
    const r = await connect(w.deps(), {
      uid: 'fay',
      calendarId: 'primary',
      refreshToken: token,
      all: false,
    });
    await w.db
      .doc(paths.subscription(subscriptionIdFor('fay', 'fay@example.com')))
      .update({ accountId: null });
    expect((await sync('fay', 'fay@example.com')).outcome).toBe('synced');
    expect((await sub('fay', 'fay@example.com'))?.accountId).toBe(r.account.accountId);
  });

  it('keys: credentials on the previous key are listed and re-sealed; one no key decrypts → needs_reauth with a clear reason, acknowledged', async () => {
    const token = '1//gus-refresh-0123456789';
    await w.simc.createUser('gus@example.com', token);
    const r = await connect(w.deps(), {
      uid: 'gus',
      calendarId: 'primary',
      refreshToken: token,
      all: false,
    });
    const rotated = parseConfig(
      { ...w.env, CALSYNC_TOKEN_KEY: KEY_B, CALSYNC_TOKEN_KEY_PREVIOUS: KEY_A },
      'cli',
    );
    const before = await keys(w.deps({ config: rotated }), false);
    expect(before.onPreviousKey).toContainEqual(
      expect.objectContaining({
        uid: 'gus',
        accountId: r.account.accountId,
        email: 'gus@example.com',
      }),
    );
    const sealed = await keys(w.deps({ config: rotated }), true);
    expect(sealed.resealed).toBeGreaterThanOrEqual(1);
    expect(sealed.failed, JSON.stringify(sealed.failed)).toEqual([]);
    const after = await keys(w.deps({ config: rotated }), false);
    expect(after.onPreviousKey).toEqual([]);
    const cred = (
      await w.db.doc(paths.account('gus', r.account.accountId)).get()
    ).data() as CredentialsDoc;
    expect(cred.keyId).toBe(rotated.tokenKeys.current.id);

    // Both keys removed too early: no configured key decrypts gus's token.
    const lost = parseConfig({ ...w.env, CALSYNC_TOKEN_KEY: KEY_C }, 'cli');
    const deps = syncDepsOf(w.deps({ config: lost }));
    const subscriptionId = subscriptionIdFor('gus', 'gus@example.com');
    const result = await handleSyncMessage(deps, {
      data: {
        v: 1,
        kind: 'resync',
        subscriptionId,
        reason: 'manual',
        full: false,
        requestedAt: new Date().toISOString(),
      },
    });
    expect(result.outcome).toBe('needs_reauth'); // resolved, not thrown: no redelivery loop
    const s = await sub('gus', 'gus@example.com');
    expect(s?.status).toBe('needs_reauth');
    expect(s?.lastError).toMatchObject({ code: 'credentials_unreadable' });
    expect(s?.lastError?.reason).toContain(rotated.tokenKeys.current.id);
    expect((await calDoc('gus', 'gus@example.com'))?.sync).toMatchObject({
      status: 'needs_reauth',
      lastError: { code: 'credentials_unreadable' },
    });
    const unreadable = (
      await w.db.doc(paths.account('gus', r.account.accountId)).get()
    ).data() as CredentialsDoc;
    expect(unreadable.status).toBe('unreadable');
    expect((await keys(w.deps({ config: lost }), false)).unreadable).toContainEqual(
      expect.objectContaining({ uid: 'gus' }),
    );
  });

  it('disconnect revokes the grant of an account whose last calendar goes, and only that one', async () => {
    const work = '1//hal-work-refresh-0123456789';
    const home = '1//hal-home-refresh-0123456789';
    await w.simc.createUser('hal.work@example.com', work);
    await w.simc.createUser('hal.home@example.com', home);
    const a = await connect(w.deps(), {
      uid: 'hal',
      calendarId: 'primary',
      refreshToken: work,
      all: false,
    });
    const b = await connect(w.deps(), {
      uid: 'hal',
      calendarId: 'primary',
      refreshToken: home,
      all: false,
    });
    const r = await disconnect(w.deps(), {
      uid: 'hal',
      calendarId: 'hal.home@example.com',
      all: false,
      deleteData: false,
    });
    expect(r.accounts).toEqual([{ account: b.account.accountId, revoke: 'revoked' }]);
    const grant = async (email: string, token: string) =>
      (await w.simc.user(email)).grants.find((g) => g.refreshToken === token)?.failure ?? null;
    expect(await grant('hal.home@example.com', home)).toBe('revoked');
    expect(await grant('hal.work@example.com', work)).toBeNull();
    expect((await w.db.doc(paths.account('hal', b.account.accountId)).get()).exists).toBe(false);
    expect((await w.db.doc(paths.account('hal', a.account.accountId)).get()).exists).toBe(true);
    expect((await sync('hal', 'hal.work@example.com')).outcome).toBe('synced');
  });
});
