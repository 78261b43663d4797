// Encrypted refresh tokens in Firestore: save/load, nothing readable at rest, key rotation re-encrypts, revocation.
import { describe, expect, it } from 'vitest';
import type { TokenKeys } from '../../../functions/config.js';
import * as credentials from '../../../functions/credentials/store.js';
import { paths } from '../../../functions/store/schema.js';
import { emulatorsMissing } from '../../harness/env.js';
import { firestoreFixture } from '../../harness/fixtures.js';
import { tokenKey } from '../../fixtures/keys.js';

describe.skipIf(emulatorsMissing() !== '')('credentials store', () => {
  const fs = firestoreFixture('creds');

  it('round-trips, stores only ciphertext, rotates to the current key, and honours revocation', async () => {
    const old: TokenKeys = { current: tokenKey(1), previous: undefined };
    await credentials.saveCredentials(fs.db, old, 'u1', '1//refresh-secret-value', [
      'calendar.readonly',
    ]);
    const raw = (await fs.db.doc(paths.credentials('u1')).get()).data()!;
    expect(JSON.stringify(raw)).not.toContain('refresh-secret-value');
    expect(raw).toMatchObject({
      uid: 'u1',
      keyId: old.current.id,
      status: 'valid',
      scopes: ['calendar.readonly'],
    });
    expect(await credentials.loadRefreshToken(fs.db, old, 'u1')).toBe('1//refresh-secret-value');

    const rotated: TokenKeys = { current: tokenKey(2), previous: old.current };
    expect(await credentials.loadRefreshToken(fs.db, rotated, 'u1')).toBe(
      '1//refresh-secret-value',
    );
    expect((await fs.db.doc(paths.credentials('u1')).get()).get('keyId')).toBe(rotated.current.id);
    expect(
      await credentials.loadRefreshToken(
        fs.db,
        { current: tokenKey(2), previous: undefined },
        'u1',
      ),
    ).toBe('1//refresh-secret-value');

    await credentials.markRevoked(fs.db, 'u1');
    expect(await credentials.loadRefreshToken(fs.db, rotated, 'u1')).toBeNull();
    expect(await credentials.loadRefreshToken(fs.db, rotated, 'nobody')).toBeNull();
  });
});
