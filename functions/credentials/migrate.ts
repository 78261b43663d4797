// Migration to per-account credentials: each legacy credentials/{uid} becomes credentials/{uid}/accounts/{accountId} (sealed v2), and the user's unbound subscriptions and calendar-list watch are bound to that account.
import {
  FieldPath,
  Timestamp,
  type Firestore,
  type QueryDocumentSnapshot,
} from '@google-cloud/firestore';
import type { TokenKeys } from '../config.js';
import {
  calendarListWatchIdFor,
  calendarListWatchPath,
  type CalendarListWatchDoc,
} from '../store/calendar-list-watches.js';
import { CREDENTIALS, paths, type CredentialsDoc, type SubscriptionDoc } from '../store/schema.js';
import { subscriptionsOfUser } from '../store/subscriptions-query.js';
import { decryptToken, DecryptError } from './crypto.js';
import { saveCredentials, type GoogleAccount } from './store.js';

/** Finds the account behind a refresh token; throws `{ kind: 'invalid_grant' }`-like errors it classifies. */
export type Identify = (refreshToken: string) => Promise<GoogleAccount>;

export type MigrationOutcome =
  | 'migrated'
  /** Google rejected the token: left in place, marked revoked; the user must connect again. */
  | 'revoked'
  /** Already revoked: left in place (nothing to identify). */
  | 'skipped_revoked'
  /** No configured key decrypts it: left in place (restore the key and run again, or reconnect). */
  | 'unreadable'
  /** Identification failed for another reason (network…): left in place, run again. */
  | 'failed';

export interface MigrationReport {
  users: {
    uid: string;
    outcome: MigrationOutcome;
    account?: string;
    bound: number;
    reason?: string;
  }[];
  dryRun: boolean;
}

/**
 * Moves every legacy credentials/{uid} document to its Google account. Idempotent: a document is
 * deleted only after its account document is written and the user's subscriptions are bound, so
 * a crash is repaired by running it again. Subscriptions already bound are never rebound.
 */
export async function migrateAccounts(
  db: Firestore,
  keys: TokenKeys,
  identify: Identify,
  o: { dryRun: boolean; isInvalidGrant: (err: unknown) => boolean; progress?: (l: string) => void },
): Promise<MigrationReport> {
  const report: MigrationReport = { users: [], dryRun: o.dryRun };
  let last: QueryDocumentSnapshot | undefined;
  for (;;) {
    let page = db.collection(CREDENTIALS).orderBy(FieldPath.documentId()).limit(200);
    if (last) page = page.startAfter(last);
    const snap = await page.get();
    for (const d of snap.docs) {
      const doc = d.data() as Partial<CredentialsDoc>;
      if (!doc.refreshTokenCiphertext) continue; // only an account parent, nothing to move
      const entry = await migrateOne(db, keys, identify, d.id, doc as CredentialsDoc, o);
      report.users.push(entry);
      o.progress?.(`${d.id}: ${entry.outcome}${entry.account ? ` (${entry.account})` : ''}`);
    }
    if (snap.size < 200) break;
    last = snap.docs[snap.docs.length - 1];
  }
  return report;
}

async function migrateOne(
  db: Firestore,
  keys: TokenKeys,
  identify: Identify,
  uid: string,
  doc: CredentialsDoc,
  o: { dryRun: boolean; isInvalidGrant: (err: unknown) => boolean },
): Promise<MigrationReport['users'][number]> {
  if (doc.status === 'revoked') return { uid, outcome: 'skipped_revoked', bound: 0 };
  let token: string;
  try {
    token = decryptToken(keys, { ciphertext: doc.refreshTokenCiphertext, keyId: doc.keyId });
  } catch (err) {
    if (!(err instanceof DecryptError)) throw err;
    return { uid, outcome: 'unreadable', bound: 0, reason: err.message };
  }
  let account: GoogleAccount;
  try {
    account = await identify(token);
  } catch (err) {
    if (o.isInvalidGrant(err)) {
      if (!o.dryRun) {
        await db
          .doc(paths.credentials(uid))
          .update({ status: 'revoked', updatedAt: Timestamp.now() });
      }
      return { uid, outcome: 'revoked', bound: 0 };
    }
    return {
      uid,
      outcome: 'failed',
      bound: 0,
      reason: err instanceof Error ? err.message : String(err),
    };
  }
  const label = account.email ?? account.accountId;
  if (o.dryRun) return { uid, outcome: 'migrated', account: label, bound: 0 };
  await saveCredentials(db, keys, uid, token, doc.scopes ?? [], account);
  const bound = await bindUser(db, uid, account);
  await db.doc(paths.credentials(uid)).delete();
  return { uid, outcome: 'migrated', account: label, bound };
}

/** Binds the user's unbound subscriptions (and their calendar documents) and legacy watch. */
async function bindUser(db: Firestore, uid: string, account: GoogleAccount): Promise<number> {
  const subs = await subscriptionsOfUser(db, uid).get();
  let bound = 0;
  let batch = db.batch();
  let n = 0;
  for (const d of subs.docs) {
    const sub = d.data() as SubscriptionDoc;
    if (sub.accountId) continue;
    batch.update(d.ref, { accountId: account.accountId });
    batch.set(
      db.doc(paths.calendar(uid, sub.calendarId)),
      { sync: { account: account.email ?? account.accountId } },
      { merge: true },
    );
    bound++;
    if (++n >= 200) {
      await batch.commit();
      batch = db.batch();
      n = 0;
    }
  }
  if (n > 0) await batch.commit();
  const watchRef = db.doc(calendarListWatchPath(calendarListWatchIdFor(uid)));
  const watch = (await watchRef.get()).data() as CalendarListWatchDoc | undefined;
  if (watch && !watch.accountId) await watchRef.update({ accountId: account.accountId });
  return bound;
}
