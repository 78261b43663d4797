// AES-256-GCM encryption of refresh tokens at rest: random 12-byte IV, key id kept beside the ciphertext, associated data binding user, Google account and key id.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { TokenKeys } from '../config.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Legacy (v1) associated data: binds the purpose only. Kept to read documents sealed before accounts. */
const LEGACY_AAD = Buffer.from('calsync.refresh-token.v1', 'utf8');

/** Whose token a ciphertext is: part of the associated data of every v2 seal. */
export interface SealContext {
  uid: string;
  /** The Google account (docs/decisions/005-google-accounts.md). */
  accountId: string;
}

export interface Sealed {
  /** base64(iv(12) | ciphertext | tag(16)). */
  ciphertext: string;
  keyId: string;
  /**
   * 2: the associated data binds uid, account id and key id, so a ciphertext copied into another
   * user's or account's document does not decrypt. 1 (or absent): legacy, purpose only.
   */
  version?: 1 | 2;
}

export type DecryptProblem = 'unknown_key' | 'authentication_failed' | 'malformed' | 'no_context';

export class DecryptError extends Error {
  constructor(
    message: string,
    readonly problem: DecryptProblem = 'authentication_failed',
  ) {
    super(message);
    this.name = 'DecryptError';
  }
}

/** The associated data of a seal: NUL-separated (uids, account ids and key ids never contain NUL). */
function aad(keyId: string, context: SealContext | undefined, version: 1 | 2): Buffer {
  if (version === 1) return LEGACY_AAD;
  if (!context) throw new DecryptError('a v2 seal needs its uid and account', 'no_context');
  return Buffer.from(
    ['calsync.refresh-token.v2', context.uid, context.accountId, keyId].join('\u0000'),
    'utf8',
  );
}

/** Encrypts with the current key; with a context the seal is v2 (bound to uid, account and key id). */
export function encryptToken(keys: TokenKeys, plaintext: string, context?: SealContext): Sealed {
  const version = context ? 2 : 1;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keys.current.key, iv);
  cipher.setAAD(aad(keys.current.id, context, version));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return {
    ciphertext: Buffer.concat([iv, body, tag]).toString('base64'),
    keyId: keys.current.id,
    version,
  };
}

/**
 * Decrypts with the key named by `keyId` (current or previous); throws DecryptError otherwise —
 * also when a v2 ciphertext is presented with another uid, account or key id than it was sealed for.
 */
export function decryptToken(keys: TokenKeys, sealed: Sealed, context?: SealContext): string {
  const key = [keys.current, keys.previous].find((k) => k?.id === sealed.keyId);
  if (!key) {
    throw new DecryptError(
      `no configured key has id ${sealed.keyId} (CALSYNC_TOKEN_KEY is ${keys.current.id}${keys.previous ? `, CALSYNC_TOKEN_KEY_PREVIOUS is ${keys.previous.id}` : ''})`,
      'unknown_key',
    );
  }
  const raw = Buffer.from(sealed.ciphertext, 'base64');
  if (raw.length < IV_BYTES + TAG_BYTES)
    throw new DecryptError('ciphertext too short', 'malformed');
  const iv = raw.subarray(0, IV_BYTES);
  const tag = raw.subarray(raw.length - TAG_BYTES);
  const body = raw.subarray(IV_BYTES, raw.length - TAG_BYTES);
  const associated = aad(sealed.keyId, context, sealed.version === 2 ? 2 : 1);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, iv);
    decipher.setAAD(associated);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  } catch {
    throw new DecryptError(`ciphertext failed authentication with key ${key.id}`);
  }
}

/** True when the blob should be sealed again: an older key, or the legacy (v1) associated data. */
export function needsRotation(keys: TokenKeys, sealed: Sealed, context?: SealContext): boolean {
  return sealed.keyId !== keys.current.id || (context !== undefined && sealed.version !== 2);
}
