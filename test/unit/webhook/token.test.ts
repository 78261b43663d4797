// Unit tests of channel tokens: format, verification, rotation, tampering and truncation.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  MAX_CHANNEL_TOKEN_LENGTH,
  signChannelToken,
  verifyChannelToken,
} from '../../../functions/channels/token.js';
import { subscriptionIdFor } from '../../../functions/ids.js';
import {
  CHANNEL_ID,
  OTHER_SECRET,
  SUBSCRIPTION_ID,
  secrets,
} from '../../fixtures/notifications/notifications.js';

const token = () => signChannelToken(secrets.current, CHANNEL_ID, SUBSCRIPTION_ID);

describe('signChannelToken', () => {
  it('produces v1.<subscriptionId>.<base64url HMAC-SHA256(secret, channelId|subscriptionId)>', () => {
    const expected = createHmac('sha256', secrets.current)
      .update(`${CHANNEL_ID}|${SUBSCRIPTION_ID}`)
      .digest('base64url');
    expect(token()).toBe(`v1.${SUBSCRIPTION_ID}.${expected}`);
    expect(token()).toHaveLength(73);
    expect(token().length).toBeLessThanOrEqual(MAX_CHANNEL_TOKEN_LENGTH);
  });

  it('is deterministic and specific to secret, channel and subscription', () => {
    const other = subscriptionIdFor('user-2', 'primary');
    expect(token()).toBe(token());
    expect(signChannelToken(secrets.previous, CHANNEL_ID, SUBSCRIPTION_ID)).not.toBe(token());
    expect(signChannelToken(secrets.current, 'another-channel', SUBSCRIPTION_ID)).not.toBe(token());
    expect(signChannelToken(secrets.current, CHANNEL_ID, other)).not.toBe(token());
  });

  it('refuses inputs that would make an ambiguous or unverifiable token', () => {
    expect(() => signChannelToken(Buffer.alloc(0), CHANNEL_ID, SUBSCRIPTION_ID)).toThrow();
    expect(() => signChannelToken(secrets.current, 'a|b', SUBSCRIPTION_ID)).toThrow();
    expect(() => signChannelToken(secrets.current, '', SUBSCRIPTION_ID)).toThrow();
    expect(() => signChannelToken(secrets.current, 'x'.repeat(65), SUBSCRIPTION_ID)).toThrow();
    expect(() => signChannelToken(secrets.current, CHANNEL_ID, 's_short')).toThrow();
    expect(() => signChannelToken(secrets.current, CHANNEL_ID, 's_a.b')).toThrow();
  });
});

describe('verifyChannelToken', () => {
  it('accepts a token signed with the current secret and recovers the subscription id', () => {
    expect(verifyChannelToken(secrets, CHANNEL_ID, token())).toEqual({
      ok: true,
      subscriptionId: SUBSCRIPTION_ID,
      key: 'current',
    });
  });

  it('accepts the previous secret during a rotation, and only while it is configured', () => {
    const old = signChannelToken(secrets.previous, CHANNEL_ID, SUBSCRIPTION_ID);
    expect(verifyChannelToken(secrets, CHANNEL_ID, old)).toEqual({
      ok: true,
      subscriptionId: SUBSCRIPTION_ID,
      key: 'previous',
    });
    const afterRotation = { current: secrets.current, previous: undefined };
    expect(verifyChannelToken(afterRotation, CHANNEL_ID, old)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    // After promoting the new secret, tokens signed with it keep working as "previous".
    const promoted = { current: Buffer.from(OTHER_SECRET), previous: secrets.current };
    expect(verifyChannelToken(promoted, CHANNEL_ID, token())).toMatchObject({
      ok: true,
      key: 'previous',
    });
  });

  it('rejects a token signed with an unknown secret', () => {
    const foreign = signChannelToken(Buffer.from(OTHER_SECRET), CHANNEL_ID, SUBSCRIPTION_ID);
    expect(verifyChannelToken(secrets, CHANNEL_ID, foreign)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('rejects a valid token presented for another channel', () => {
    expect(verifyChannelToken(secrets, 'another-channel', token())).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('rejects a tampered subscription id (the MAC covers it)', () => {
    const other = subscriptionIdFor('attacker', 'primary');
    const tampered = token().replace(SUBSCRIPTION_ID, other);
    expect(verifyChannelToken(secrets, CHANNEL_ID, tampered)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    // One character flipped inside the id.
    const flipped = `v1.${SUBSCRIPTION_ID.slice(0, -1)}${SUBSCRIPTION_ID.endsWith('A') ? 'B' : 'A'}.${token().split('.')[2]}`;
    expect(verifyChannelToken(secrets, CHANNEL_ID, flipped)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    // An id that is not a subscription id at all.
    expect(verifyChannelToken(secrets, CHANNEL_ID, `v1.users_x.${token().split('.')[2]}`)).toEqual({
      ok: false,
      reason: 'bad_subscription_id',
    });
  });

  it('rejects truncated tokens of every length', () => {
    const full = token();
    for (let n = 0; n < full.length; n++) {
      const verdict = verifyChannelToken(secrets, CHANNEL_ID, full.slice(0, n));
      expect(verdict.ok, `prefix of ${n} chars`).toBe(false);
    }
  });

  it('rejects a tampered signature, a padded one, and one with extra characters', () => {
    const full = token();
    const sig = full.split('.')[2] as string;
    const flipped = `${full.slice(0, -1)}${full.endsWith('A') ? 'Q' : 'A'}`;
    expect(verifyChannelToken(secrets, CHANNEL_ID, flipped).ok).toBe(false);
    expect(verifyChannelToken(secrets, CHANNEL_ID, `${full}=`)).toEqual({
      ok: false,
      reason: 'malformed',
    });
    expect(verifyChannelToken(secrets, CHANNEL_ID, `${full}A`)).toEqual({
      ok: false,
      reason: 'malformed',
    });
    // Standard base64 alphabet instead of base64url.
    const std = Buffer.from(sig, 'base64url').toString('base64').replace(/=+$/, '');
    if (std !== sig) {
      expect(verifyChannelToken(secrets, CHANNEL_ID, full.replace(sig, std)).ok).toBe(false);
    }
  });

  it('rejects a non-canonical base64url signature (same bytes, different last character)', () => {
    const full = token();
    const last = full.at(-1) as string;
    // The last of 43 characters carries 4 bits + 2 zero bits; setting a low bit decodes to the same bytes.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) + 1] as string;
    const forged = `${full.slice(0, -1)}${sibling}`;
    expect(Buffer.from(forged.split('.')[2] as string, 'base64url')).toEqual(
      Buffer.from(full.split('.')[2] as string, 'base64url'),
    );
    expect(verifyChannelToken(secrets, CHANNEL_ID, forged)).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('rejects missing, over-long, unknown-version and garbage tokens without throwing', () => {
    expect(verifyChannelToken(secrets, CHANNEL_ID, '')).toEqual({ ok: false, reason: 'missing' });
    expect(verifyChannelToken(secrets, CHANNEL_ID, 'v1.'.padEnd(10_000, 'a'))).toEqual({
      ok: false,
      reason: 'too_long',
    });
    for (const junk of [
      token().replace(/^v1/, 'v2'),
      'v1..',
      'v1.s_x',
      `${token()}.extra`,
      'target=myApp-myCalendarChannelDest',
      'v1.s_aaaaaaaaaaaaaaaaaaaaaaaa.ééééé',
      ' '.repeat(20),
    ]) {
      expect(verifyChannelToken(secrets, CHANNEL_ID, junk).ok, junk).toBe(false);
    }
  });

  it('rejects when the channel id could not have been signed (empty, "|", too long)', () => {
    for (const channelId of ['', 'a|b', 'x'.repeat(65)]) {
      expect(verifyChannelToken(secrets, channelId, token())).toEqual({
        ok: false,
        reason: 'malformed',
      });
    }
  });
});
