// infra/firestore.rules on the Firestore emulator: users read their own calendar mirror only; no client writes.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  assertFails,
  assertSucceeds,
  initializeTestEnvironment,
  type RulesTestContext,
  type RulesTestEnvironment,
} from '@firebase/rules-unit-testing';
import { setLogLevel } from 'firebase/firestore';
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import { emulatorsMissing, uniqueProjectId } from '../../harness/env.js';

const RULES = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'infra',
  'firestore.rules',
);

/** Documents of alice and bob, written with rules disabled (as the functions do with server credentials). */
const SEED: Record<string, Record<string, unknown>> = {
  'users/alice': { createdAt: 1 },
  'users/alice/calendars/primary': { calendarId: 'alice@example.com', sync: { status: 'active' } },
  'users/alice/calendars/primary/events/e1': { id: 'e1', status: 'confirmed', startAt: 1 },
  'users/alice/calendars/primary/occurrences/e1_20250101': { eventId: 'e1', startAt: 1 },
  'users/alice/calendars/en.usa#holiday@group.v.calendar.google.com': { calendarId: 'holidays' },
  'users/bob/calendars/primary': { calendarId: 'bob@example.com', sync: { status: 'active' } },
  'users/bob/calendars/primary/events/e2': { id: 'e2', status: 'confirmed', startAt: 2 },
  'users/bob/calendars/primary/occurrences/e2_20250101': { eventId: 'e2', startAt: 2 },
  'subscriptions/sub-alice': { uid: 'alice', calendarId: 'primary', syncToken: 'tok' },
  'credentials/alice': { uid: 'alice', refreshTokenCiphertext: 'xxx', keyId: 'k1' },
  'credentials/bob': { uid: 'bob', refreshTokenCiphertext: 'yyy', keyId: 'k1' },
  'calendarListWatches/w-alice': { uid: 'alice', status: 'active' },
  // Per Google account (issue 15.1), and records of retired channels (issue 15.2).
  'credentials/alice/accounts/113700000000000000001': {
    uid: 'alice',
    accountId: '113700000000000000001',
    refreshTokenCiphertext: 'zzz',
    keyId: 'k1',
  },
  'retiredChannels/old-channel': { channelId: 'old-channel', ownerId: 'sub-alice' },
};

const OWN = [
  'users/alice/calendars/primary',
  'users/alice/calendars/primary/events/e1',
  'users/alice/calendars/primary/occurrences/e1_20250101',
  'users/alice/calendars/en.usa#holiday@group.v.calendar.google.com',
];
const OTHERS = [
  'users/bob/calendars/primary',
  'users/bob/calendars/primary/events/e2',
  'users/bob/calendars/primary/occurrences/e2_20250101',
];
const SERVER_ONLY = [
  'subscriptions/sub-alice',
  'credentials/alice',
  'credentials/bob',
  'calendarListWatches/w-alice',
  'credentials/alice/accounts/113700000000000000001',
  'retiredChannels/old-channel',
];

describe.skipIf(emulatorsMissing() !== '')('Firestore security rules', () => {
  let env: RulesTestEnvironment;
  let alice: RulesTestContext;
  let bob: RulesTestContext;
  let anonymous: RulesTestContext;

  beforeAll(async () => {
    setLogLevel('silent'); // every denied request would otherwise log a PERMISSION_DENIED stack
    const hostPort = inject('firestoreHost');
    const at = hostPort.lastIndexOf(':');
    env = await initializeTestEnvironment({
      // Rules are loaded per project: a unique id keeps other suites' rules and data apart.
      projectId: uniqueProjectId('rules'),
      firestore: {
        rules: readFileSync(RULES, 'utf8'),
        host: hostPort.slice(0, at),
        port: Number(hostPort.slice(at + 1)),
      },
    });
    await env.withSecurityRulesDisabled(async (ctx) => {
      const db = ctx.firestore();
      for (const [path, data] of Object.entries(SEED)) await db.doc(path).set(data);
    });
    alice = env.authenticatedContext('alice');
    bob = env.authenticatedContext('bob');
    anonymous = env.unauthenticatedContext();
  });

  afterAll(async () => {
    await env?.cleanup();
  });

  describe('reads', () => {
    it('lets a signed-in user read their own calendars, events and occurrences', async () => {
      const db = alice.firestore();
      for (const path of OWN) await assertSucceeds(db.doc(path).get());
    });

    it('lets a user list and query their own collections (what onSnapshot listeners do)', async () => {
      const db = alice.firestore();
      await assertSucceeds(db.collection('users/alice/calendars').get());
      await assertSucceeds(db.collection('users/alice/calendars/primary/events').get());
      await assertSucceeds(
        db.collection('users/alice/calendars/primary/occurrences').where('startAt', '>=', 0).get(),
      );
    });

    it("denies another user's calendar documents", async () => {
      const db = alice.firestore();
      for (const path of OTHERS) await assertFails(db.doc(path).get());
      await assertFails(db.collection('users/bob/calendars/primary/events').get());
      await assertFails(bob.firestore().doc('users/alice/calendars/primary/events/e1').get());
    });

    it('denies everything to a client that is not signed in', async () => {
      const db = anonymous.firestore();
      for (const path of [...OWN, ...OTHERS]) await assertFails(db.doc(path).get());
    });

    it('never lets a client read subscriptions, credentials or watches, not even its own', async () => {
      for (const ctx of [alice, bob, anonymous]) {
        const db = ctx.firestore();
        for (const path of SERVER_ONLY) await assertFails(db.doc(path).get());
        await assertFails(db.collection('subscriptions').get());
        await assertFails(db.collection('subscriptions').where('uid', '==', 'alice').get());
        await assertFails(db.collection('credentials').get());
        await assertFails(db.collection('credentials/alice/accounts').get());
        await assertFails(db.collectionGroup('accounts').get());
        await assertFails(db.collection('retiredChannels').get());
      }
    });

    it('does not expose the user document itself or collection-group reads across users', async () => {
      const db = alice.firestore();
      await assertFails(db.doc('users/alice').get());
      await assertFails(db.collectionGroup('events').get());
    });

    it('does not mistake a look-alike uid for the owner', async () => {
      const mallory = env.authenticatedContext('alice2');
      await assertFails(mallory.firestore().doc('users/alice/calendars/primary').get());
    });
  });

  describe('writes', () => {
    it('denies every client write to the owner, including create, update and delete', async () => {
      const db = alice.firestore();
      for (const path of OWN) {
        await assertFails(db.doc(path).set({ tampered: true }));
        await assertFails(db.doc(path).update({ tampered: true }));
        await assertFails(db.doc(path).delete());
      }
      await assertFails(db.collection('users/alice/calendars/primary/events').add({ id: 'new' }));
      await assertFails(db.doc('users/alice').set({ tampered: true }));
    });

    it('denies writes to other users and to server-only collections', async () => {
      for (const ctx of [alice, anonymous]) {
        const db = ctx.firestore();
        for (const path of [...OTHERS, ...SERVER_ONLY]) {
          await assertFails(db.doc(path).set({ tampered: true }));
          await assertFails(db.doc(path).delete());
        }
        await assertFails(db.doc('subscriptions/new').set({ uid: 'alice' }));
        await assertFails(db.doc('somewhere/else').set({ x: 1 }));
      }
    });

    it('left the seeded data untouched', async () => {
      await env.withSecurityRulesDisabled(async (ctx) => {
        const snap = await ctx.firestore().doc('users/alice/calendars/primary/events/e1').get();
        if (snap.get('tampered') !== undefined || snap.get('id') !== 'e1') {
          throw new Error('a denied write changed the document');
        }
      });
    });
  });
});
