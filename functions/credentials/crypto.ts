// AES-256-GCM encryption of refresh tokens at rest: random 12-byte IV, key id kept beside the ciphertext for rotation.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { TokenKeys } from '../config.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Binds the ciphertext to its purpose, so a blob copied into another field does not decrypt. */
const AAD = Buffer.from('calsync.refresh-token.v1', 'utf8');

export interface Sealed {
  /** base64(iv(12) | ciphertext | tag(16)). */
  ciphertext: string;
  keyId: string;
}

export class DecryptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptError';
  }
}

/** Encrypts with the current key. */
export function encryptToken(keys: TokenKeys, plaintext: string): Sealed {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keys.current.key, iv);
  cipher.setAAD(AAD);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return { ciphertext: Buffer.concat([iv, body, tag]).toString('base64'), keyId: keys.current.id };
}

/** Decrypts with the key named by `keyId` (current or previous); throws DecryptError otherwise. */
export function decryptToken(keys: TokenKeys, sealed: Sealed): string {
  const key = [keys.current, keys.previous].find((k) => k?.id === sealed.keyId);
  if (!key) throw new DecryptError(`no configured key has id ${sealed.keyId}`);
  const raw = Buffer.from(sealed.ciphertext, 'base64');
  if (raw.length < IV_BYTES + TAG_BYTES) throw new DecryptError('ciphertext too short');
  const iv = raw.subarray(0, IV_BYTES);
  const tag = raw.subarray(raw.length - TAG_BYTES);
  const body = raw.subarray(IV_BYTES, raw.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, iv);
    decipher.setAAD(AAD);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  } catch {
    throw new DecryptError('ciphertext failed authentication');
  }
}

/** True when the blob was sealed with an older key and should be re-encrypted with the current one. */
export function needsRotation(keys: TokenKeys, sealed: Sealed): boolean {
  return sealed.keyId !== keys.current.id;
}
