// Refresh-token encryption: round trip, random IVs, tamper detection and key rotation.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { TokenKeys } from '../../../functions/config.js';
import { tokenKey } from '../../fixtures/keys.js';
import {
  decryptToken,
  DecryptError,
  encryptToken,
  needsRotation,
} from '../../../functions/credentials/crypto.js';

const keysA: TokenKeys = { current: tokenKey(1), previous: undefined };
const TOKEN = '1//0g-refresh-token-' + randomBytes(8).toString('hex');

describe('refresh token crypto', () => {
  it('round-trips and names the key', () => {
    const sealed = encryptToken(keysA, TOKEN);
    expect(sealed.keyId).toBe(keysA.current.id);
    expect(sealed.ciphertext).not.toContain(TOKEN);
    expect(Buffer.from(sealed.ciphertext, 'base64').toString('utf8')).not.toContain(TOKEN);
    expect(decryptToken(keysA, sealed)).toBe(TOKEN);
  });

  it('uses a fresh IV every time', () => {
    const a = encryptToken(keysA, TOKEN);
    const b = encryptToken(keysA, TOKEN);
    expect(a.ciphertext).not.toBe(b.ciphertext);
    expect(Buffer.from(a.ciphertext, 'base64').subarray(0, 12)).not.toEqual(
      Buffer.from(b.ciphertext, 'base64').subarray(0, 12),
    );
  });

  it('detects tampering anywhere in the blob', () => {
    const sealed = encryptToken(keysA, TOKEN);
    const raw = Buffer.from(sealed.ciphertext, 'base64');
    for (const index of [0, 11, 12, raw.length - 17, raw.length - 1]) {
      const bad = Buffer.from(raw);
      bad[index] = bad[index]! ^ 0x01;
      expect(() => decryptToken(keysA, { ...sealed, ciphertext: bad.toString('base64') })).toThrow(
        DecryptError,
      );
    }
    expect(() => decryptToken(keysA, { ...sealed, ciphertext: 'AAAA' })).toThrow(DecryptError);
  });

  it('rejects a wrong key with the same id claim', () => {
    const sealed = encryptToken(keysA, TOKEN);
    const impostor: TokenKeys = {
      current: { id: keysA.current.id, key: Buffer.alloc(32, 9) },
      previous: undefined,
    };
    expect(() => decryptToken(impostor, sealed)).toThrow(DecryptError);
  });

  it('decrypts with the previous key after a rotation, and says it needs re-encryption', () => {
    const old = encryptToken(keysA, TOKEN);
    const rotated: TokenKeys = { current: tokenKey(2), previous: keysA.current };
    expect(needsRotation(rotated, old)).toBe(true);
    expect(decryptToken(rotated, old)).toBe(TOKEN);
    const fresh = encryptToken(rotated, TOKEN);
    expect(needsRotation(rotated, fresh)).toBe(false);
    expect(decryptToken({ current: tokenKey(2), previous: undefined }, fresh)).toBe(TOKEN);
  });

  it('refuses an unknown key id without leaking the token', () => {
    const sealed = encryptToken(keysA, TOKEN);
    const other: TokenKeys = { current: tokenKey(3), previous: undefined };
    expect(() => decryptToken(other, sealed)).toThrow(/no configured key/);
  });
});
