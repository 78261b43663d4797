// Encrypted refresh tokens per user and Google account (credentials/{uid}/accounts/{accountId}): save, load (re-sealing after a key rotation, binding legacy subscriptions on first use), mark revoked.
import {
  Timestamp,
  type DocumentReference,
  type DocumentSnapshot,
  type Firestore,
} from '@google-cloud/firestore';
import type { TokenKeys } from '../config.js';
import { registerSecret } from '../log.js';
import { paths, type CredentialsDoc, type SubscriptionDoc } from '../store/schema.js';
import {
  decryptToken,
  DecryptError,
  encryptToken,
  needsRotation,
  type SealContext,
} from './crypto.js';

/** Which credentials (contract C). A plain uid string is the legacy, unbound form. */
export interface CredentialRef {
  uid: string;
  /** The account the subscription is bound to; null/absent = unbound (legacy). */
  accountId?: string | null;
  /** An unbound subscription to bind to the user's only account when it is resolved (first use). */
  subscriptionId?: string;
}

/** The Google account a refresh token belongs to (credentials/identity.ts finds it). */
export interface GoogleAccount {
  accountId: string;
  email: string | null;
  identity: 'openid' | 'primary-calendar';
}

export type CredentialsProblemCode = 'credentials_unreadable' | 'account_ambiguous';

/**
 * The stored credentials exist but cannot be used, and no retry will change that: no configured
 * key decrypts them (the previous key was removed too early), or an unbound subscription belongs
 * to a user with several accounts. Callers mark the calendar `needs_reauth` with this message.
 */
export class CredentialsProblem extends Error {
  constructor(
    readonly code: CredentialsProblemCode,
    message: string,
  ) {
    super(message);
    this.name = 'CredentialsProblem';
  }
}

const asRef = (ref: string | CredentialRef): CredentialRef =>
  typeof ref === 'string' ? { uid: ref } : ref;

/**
 * Stores a refresh token Google accepted, sealed with the current key. With `account` (every
 * production caller) it goes to credentials/{uid}/accounts/{accountId}, its associated data
 * binding uid, account and key id; without, to the legacy credentials/{uid} (tests of the
 * migration and of legacy data only).
 */
export async function saveCredentials(
  db: Firestore,
  keys: TokenKeys,
  uid: string,
  refreshToken: string,
  scopes: string[],
  account?: GoogleAccount,
): Promise<void> {
  registerSecret(refreshToken);
  const now = Timestamp.now();
  if (!account) {
    const sealed = encryptToken(keys, refreshToken);
    const legacy: CredentialsDoc = {
      uid,
      refreshTokenCiphertext: sealed.ciphertext,
      keyId: sealed.keyId,
      scopes,
      status: 'valid',
      updatedAt: now,
    };
    await db.doc(paths.credentials(uid)).set(legacy);
    return;
  }
  const sealed = encryptToken(keys, refreshToken, { uid, accountId: account.accountId });
  const doc: CredentialsDoc = {
    uid,
    accountId: account.accountId,
    email: account.email,
    identity: account.identity,
    refreshTokenCiphertext: sealed.ciphertext,
    keyId: sealed.keyId,
    sealVersion: 2,
    scopes,
    status: 'valid',
    problem: null,
    updatedAt: now,
  };
  const ref = db.doc(paths.account(uid, account.accountId));
  await db.runTransaction(async (tx) => {
    const old = await tx.get(ref);
    const createdAt = (old.data() as CredentialsDoc | undefined)?.createdAt ?? now;
    tx.set(ref, { ...doc, createdAt });
  });
}

interface Resolved {
  ref: DocumentReference;
  snap: DocumentSnapshot;
  doc: CredentialsDoc;
  /** Undefined for a legacy (v1) document. */
  context: SealContext | undefined;
}

/** The credentials document a ref names; null when there is none. */
async function resolve(db: Firestore, r: CredentialRef): Promise<Resolved | null> {
  if (r.accountId) {
    const ref = db.doc(paths.account(r.uid, r.accountId));
    const snap = await ref.get();
    if (!snap.exists) return null;
    return {
      ref,
      snap,
      doc: snap.data() as CredentialsDoc,
      context: contextOf(r.uid, r.accountId),
    };
  }
  const legacyRef = db.doc(paths.credentials(r.uid));
  const legacy = await legacyRef.get();
  const legacyDoc = legacy.data() as Partial<CredentialsDoc> | undefined;
  if (legacy.exists && legacyDoc?.refreshTokenCiphertext) {
    return { ref: legacyRef, snap: legacy, doc: legacyDoc as CredentialsDoc, context: undefined };
  }
  const accounts = await db.collection(paths.accounts(r.uid)).limit(2).get();
  if (accounts.size > 1) {
    throw new CredentialsProblem(
      'account_ambiguous',
      `user ${r.uid} has several Google accounts and this calendar is bound to none: connect it again with the account that should sync it`,
    );
  }
  const only = accounts.docs[0];
  if (!only) return null;
  const doc = only.data() as CredentialsDoc;
  const accountId = doc.accountId ?? only.id;
  if (r.subscriptionId) await bindSubscription(db, r.subscriptionId, accountId);
  return { ref: only.ref, snap: only, doc, context: contextOf(r.uid, accountId) };
}

function contextOf(uid: string, accountId: string): SealContext {
  return { uid, accountId };
}

/** First use: an unbound subscription is bound to the user's only account (never rebinds). */
async function bindSubscription(db: Firestore, subscriptionId: string, accountId: string) {
  const ref = db.doc(paths.subscription(subscriptionId));
  const snap = await ref.get();
  const sub = snap.data() as SubscriptionDoc | undefined;
  if (!sub || sub.accountId) return;
  // Conditioned on the snapshot: a concurrent write wins and the next use binds (best effort).
  await ref.update({ accountId }, { lastUpdateTime: snap.updateTime! }).catch(() => undefined);
}

/**
 * The refresh token of the account `ref` names (contract C), or null when there is none or it
 * was revoked. Throws CredentialsProblem when it exists but cannot be used (no configured key
 * decrypts it — recorded on the document as `unreadable` — or the account is ambiguous). A token
 * sealed with the previous key or the legacy associated data is sealed again (best effort).
 */
export async function loadRefreshToken(
  db: Firestore,
  keys: TokenKeys,
  ref: string | CredentialRef,
): Promise<string | null> {
  const r = asRef(ref);
  const found = await resolve(db, r);
  if (!found || found.doc.status === 'revoked') return null;
  const { doc, context } = found;
  const sealed = {
    ciphertext: doc.refreshTokenCiphertext,
    keyId: doc.keyId,
    version: doc.sealVersion,
  };
  let token: string;
  try {
    token = decryptToken(keys, sealed, context);
  } catch (err) {
    if (!(err instanceof DecryptError)) throw err;
    const problem = `stored refresh token cannot be decrypted: ${err.message}; restore the key (CALSYNC_TOKEN_KEY_PREVIOUS) or connect the account again`;
    await found.ref
      .update({ status: 'unreadable', problem, updatedAt: Timestamp.now() })
      .catch(() => undefined);
    throw new CredentialsProblem('credentials_unreadable', problem);
  }
  registerSecret(token);
  if (needsRotation(keys, sealed, context) || doc.status === 'unreadable') {
    await reseal(found, keys, token).catch(() => undefined); // a concurrent save wins
  }
  return token;
}

/** Seals `token` again with the current key (v2 when the document has an account). */
async function reseal(found: Resolved, keys: TokenKeys, token: string): Promise<void> {
  const fresh = encryptToken(keys, token, found.context);
  await found.ref.update(
    {
      refreshTokenCiphertext: fresh.ciphertext,
      keyId: fresh.keyId,
      sealVersion: fresh.version ?? 1,
      status: 'valid',
      problem: null,
      updatedAt: Timestamp.now(),
    },
    { lastUpdateTime: found.snap.updateTime! },
  );
}

/**
 * Marks the stored token revoked (after invalid_grant); the ciphertext is kept for audit, never
 * used. Only the account `ref` names: another account of the same user is never touched.
 */
export async function markRevoked(db: Firestore, ref: string | CredentialRef): Promise<void> {
  const r = asRef(ref);
  let found: Resolved | null;
  try {
    found = await resolve(db, { uid: r.uid, accountId: r.accountId ?? null });
  } catch (err) {
    if (err instanceof CredentialsProblem) return; // ambiguous: nothing to mark
    throw err;
  }
  if (!found) return;
  await found.ref.update({ status: 'revoked', updatedAt: Timestamp.now() });
}

/** The user's accounts (and a legacy document, accountId null), without decrypting anything. */
export async function listAccounts(db: Firestore, uid: string): Promise<AccountSummary[]> {
  const out: AccountSummary[] = [];
  const legacy = await db.doc(paths.credentials(uid)).get();
  const legacyDoc = legacy.data() as Partial<CredentialsDoc> | undefined;
  if (legacyDoc?.refreshTokenCiphertext) out.push(summary(uid, null, legacyDoc as CredentialsDoc));
  const accounts = await db.collection(paths.accounts(uid)).get();
  for (const d of accounts.docs) {
    const doc = d.data() as CredentialsDoc;
    out.push(summary(uid, doc.accountId ?? d.id, doc));
  }
  return out;
}

export interface AccountSummary {
  uid: string;
  accountId: string | null;
  email: string | null;
  status: CredentialsDoc['status'];
  keyId: string;
  sealVersion: 1 | 2;
}

function summary(uid: string, accountId: string | null, doc: CredentialsDoc): AccountSummary {
  return {
    uid,
    accountId,
    email: doc.email ?? null,
    status: doc.status,
    keyId: doc.keyId,
    sealVersion: doc.sealVersion ?? 1,
  };
}

/** Deletes one account's credentials (or the legacy document when accountId is null). */
export async function deleteCredentials(
  db: Firestore,
  uid: string,
  accountId: string | null,
): Promise<void> {
  await db.doc(accountId ? paths.account(uid, accountId) : paths.credentials(uid)).delete();
}
