// Encrypted refresh tokens in credentials/{uid}: save, load (re-encrypting after a key rotation), mark revoked.
import { Timestamp, type Firestore } from '@google-cloud/firestore';
import type { TokenKeys } from '../config.js';
import { registerSecret } from '../log.js';
import { paths, type CredentialsDoc } from '../store/schema.js';
import { decryptToken, encryptToken, needsRotation } from './crypto.js';

export async function saveCredentials(
  db: Firestore,
  keys: TokenKeys,
  uid: string,
  refreshToken: string,
  scopes: string[],
): Promise<void> {
  registerSecret(refreshToken);
  const sealed = encryptToken(keys, refreshToken);
  const doc: CredentialsDoc = {
    uid,
    refreshTokenCiphertext: sealed.ciphertext,
    keyId: sealed.keyId,
    scopes,
    status: 'valid',
    updatedAt: Timestamp.now(),
  };
  await db.doc(paths.credentials(uid)).set(doc);
}

/**
 * The user's refresh token, or null when there is none or it was revoked. A token sealed with the
 * previous key is re-encrypted with the current one (best effort).
 */
export async function loadRefreshToken(
  db: Firestore,
  keys: TokenKeys,
  uid: string,
): Promise<string | null> {
  const ref = db.doc(paths.credentials(uid));
  const snap = await ref.get();
  if (!snap.exists) return null;
  const doc = snap.data() as CredentialsDoc;
  if (doc.status === 'revoked') return null;
  const sealed = { ciphertext: doc.refreshTokenCiphertext, keyId: doc.keyId };
  const token = decryptToken(keys, sealed);
  registerSecret(token);
  if (needsRotation(keys, sealed)) {
    const fresh = encryptToken(keys, token);
    await ref
      .update(
        {
          refreshTokenCiphertext: fresh.ciphertext,
          keyId: fresh.keyId,
          updatedAt: Timestamp.now(),
        },
        { lastUpdateTime: snap.updateTime! },
      )
      .catch(() => undefined); // a concurrent save wins; we still return the token we read
  }
  return token;
}

/** Marks the stored token revoked (after invalid_grant); the ciphertext is kept for audit, never used. */
export async function markRevoked(db: Firestore, uid: string): Promise<void> {
  await db
    .doc(paths.credentials(uid))
    .set({ status: 'revoked', updatedAt: Timestamp.now() }, { merge: true });
}
