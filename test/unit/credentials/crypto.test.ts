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

  it('v2 seals bind uid, account and key id: the same blob under another user or account does not decrypt', () => {
    const alice = { uid: 'alice', accountId: '113700000000000000001' };
    const sealed = encryptToken(keysA, TOKEN, alice);
    expect(sealed.version).toBe(2);
    expect(decryptToken(keysA, sealed, alice)).toBe(TOKEN);
    for (const other of [
      { uid: 'bob', accountId: alice.accountId },
      { uid: 'alice', accountId: '113700000000000000002' },
      // NUL-joined, so shifting characters between the fields does not collide.
      { uid: 'alice1', accountId: '13700000000000000001' },
    ]) {
      expect(() => decryptToken(keysA, sealed, other)).toThrow(DecryptError);
    }
    // Without its context, or read as a legacy (v1) seal, it does not decrypt either.
    expect(() => decryptToken(keysA, sealed)).toThrow(DecryptError);
    expect(() => decryptToken(keysA, { ...sealed, version: 1 }, alice)).toThrow(DecryptError);
    // A key-id label changed on the document is caught too (the key id is in the associated data).
    const both: TokenKeys = { current: tokenKey(1), previous: { ...tokenKey(1), id: 'feedbeef' } };
    expect(() => decryptToken(both, { ...sealed, keyId: 'feedbeef' }, alice)).toThrow(DecryptError);
  });

  it('asks to re-seal a legacy (v1) seal once its account is known, and names the missing key', () => {
    const legacy = encryptToken(keysA, TOKEN);
    expect(legacy.version).toBe(1);
    expect(needsRotation(keysA, legacy)).toBe(false);
    expect(needsRotation(keysA, legacy, { uid: 'u', accountId: 'a' })).toBe(true);
    const other: TokenKeys = { current: tokenKey(3), previous: undefined };
    try {
      decryptToken(other, legacy);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(DecryptError);
      expect((err as DecryptError).problem).toBe('unknown_key');
      expect((err as Error).message).toContain(keysA.current.id);
      expect((err as Error).message).not.toContain(TOKEN);
    }
  });
});
