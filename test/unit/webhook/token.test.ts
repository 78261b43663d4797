// Unit tests of channel tokens: v2 format with the expiry inside the MAC, v1 during the transition, rotation, tampering and truncation.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  MAX_CHANNEL_TOKEN_LENGTH,
  signChannelToken,
  verifyChannelToken,
  type TokenCheck,
} from '../../../functions/channels/token.js';
import { subscriptionIdFor } from '../../../functions/ids.js';
import {
  CHANNEL_EXPIRES_AT,
  CHANNEL_ID,
  OTHER_SECRET,
  SUBSCRIPTION_ID,
  TOKEN_POLICY,
  secrets,
} from '../../fixtures/notifications/notifications.js';

const EXPIRY_S = Math.ceil(CHANNEL_EXPIRES_AT / 1000);
/** A day before the fixture channel expires. */
const LIVE: TokenCheck = { ...TOKEN_POLICY, now: CHANNEL_EXPIRES_AT - 86_400_000 };
const v2 = (secret: Buffer = secrets.current, channelId = CHANNEL_ID) =>
  signChannelToken(secret, channelId, SUBSCRIPTION_ID, CHANNEL_EXPIRES_AT);
const v1 = (secret: Buffer = secrets.current, channelId = CHANNEL_ID) =>
  signChannelToken(secret, channelId, SUBSCRIPTION_ID);
/** The MAC part of a token (last dot-separated part). */
const macOf = (token: string) => token.split('.').at(-1) as string;

describe('signChannelToken', () => {
  it('v2: v2.<subscriptionId>.<expiry s>.<base64url HMAC-SHA256(secret, v2|channel|subscription|expiry)>', () => {
    const expected = createHmac('sha256', secrets.current)
      .update(`v2|${CHANNEL_ID}|${SUBSCRIPTION_ID}|${EXPIRY_S}`)
      .digest('base64url');
    expect(v2()).toBe(`v2.${SUBSCRIPTION_ID}.${EXPIRY_S}.${expected}`);
    expect(v2()).toHaveLength(84);
    expect(v2().length).toBeLessThanOrEqual(MAX_CHANNEL_TOKEN_LENGTH);
  });

  it('v1 (transition tests only): v1.<subscriptionId>.<HMAC(secret, channel|subscription)>', () => {
    const expected = createHmac('sha256', secrets.current)
      .update(`${CHANNEL_ID}|${SUBSCRIPTION_ID}`)
      .digest('base64url');
    expect(v1()).toBe(`v1.${SUBSCRIPTION_ID}.${expected}`);
  });

  it('is deterministic and specific to secret, channel, subscription and expiry', () => {
    const other = subscriptionIdFor('user-2', 'primary');
    expect(v2()).toBe(v2());
    expect(v2(secrets.previous)).not.toBe(v2());
    expect(v2(secrets.current, 'another-channel')).not.toBe(v2());
    expect(signChannelToken(secrets.current, CHANNEL_ID, other, CHANNEL_EXPIRES_AT)).not.toBe(v2());
    const later = signChannelToken(
      secrets.current,
      CHANNEL_ID,
      SUBSCRIPTION_ID,
      CHANNEL_EXPIRES_AT + 1000,
    );
    expect(macOf(later)).not.toBe(macOf(v2()));
  });

  it('refuses inputs that would make an ambiguous or unverifiable token', () => {
    expect(() => signChannelToken(Buffer.alloc(0), CHANNEL_ID, SUBSCRIPTION_ID, 1)).toThrow();
    expect(() => signChannelToken(secrets.current, 'a|b', SUBSCRIPTION_ID, 1)).toThrow();
    expect(() => signChannelToken(secrets.current, '', SUBSCRIPTION_ID)).toThrow();
    expect(() => signChannelToken(secrets.current, 'x'.repeat(65), SUBSCRIPTION_ID)).toThrow();
    expect(() => signChannelToken(secrets.current, CHANNEL_ID, 's_short', 1000)).toThrow();
    expect(() => signChannelToken(secrets.current, CHANNEL_ID, 's_a.b')).toThrow();
    expect(() => signChannelToken(secrets.current, CHANNEL_ID, SUBSCRIPTION_ID, -5000)).toThrow();
  });
});

describe('verifyChannelToken: v2 expiry', () => {
  it('accepts a live v2 token and recovers the subscription id and expiry', () => {
    expect(verifyChannelToken(secrets, CHANNEL_ID, v2(), LIVE)).toEqual({
      ok: true,
      subscriptionId: SUBSCRIPTION_ID,
      key: 'current',
      version: 2,
      expiresAt: EXPIRY_S * 1000,
    });
  });

  it('accepts it until expiry + grace, then refuses it as expired (a replay costs one HMAC)', () => {
    const at = (now: number) => verifyChannelToken(secrets, CHANNEL_ID, v2(), { ...LIVE, now });
    const end = EXPIRY_S * 1000 + TOKEN_POLICY.graceMs;
    expect(at(EXPIRY_S * 1000).ok).toBe(true);
    expect(at(end).ok).toBe(true);
    expect(at(end + 1)).toEqual({ ok: false, reason: 'expired' });
    expect(at(end + 365 * 86_400_000)).toEqual({ ok: false, reason: 'expired' });
    // No grace configured: refused one ms after the expiry.
    const strict = { ...LIVE, graceMs: 0, now: EXPIRY_S * 1000 + 1 };
    expect(verifyChannelToken(secrets, CHANNEL_ID, v2(), strict)).toEqual({
      ok: false,
      reason: 'expired',
    });
  });

  it('the expiry is covered by the MAC: extending it breaks the signature', () => {
    const [ver, sub, expiry, mac] = v2().split('.') as [string, string, string, string];
    const extended = `${ver}.${sub}.${Number(expiry) + 86_400 * 365}.${mac}`;
    const later = { ...LIVE, now: CHANNEL_EXPIRES_AT + 30 * 86_400_000 };
    expect(verifyChannelToken(secrets, CHANNEL_ID, extended, later)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('refuses non-canonical expiries (leading zero, empty, too many digits)', () => {
    const [ver, sub, expiry, mac] = v2().split('.') as [string, string, string, string];
    for (const e of [`0${expiry}`, '', '1'.repeat(13), `${expiry}.5`, `-${expiry}`]) {
      expect(verifyChannelToken(secrets, CHANNEL_ID, `${ver}.${sub}.${e}.${mac}`, LIVE).ok, e).toBe(
        false,
      );
    }
  });
});

describe('verifyChannelToken: v1 during the transition', () => {
  it('accepts a v1 token while v1 is accepted, whatever the time (it carries no expiry)', () => {
    const farFuture = { ...LIVE, now: CHANNEL_EXPIRES_AT + 10 * 365 * 86_400_000 };
    expect(verifyChannelToken(secrets, CHANNEL_ID, v1(), farFuture)).toEqual({
      ok: true,
      subscriptionId: SUBSCRIPTION_ID,
      key: 'current',
      version: 1,
    });
  });

  it('refuses a valid v1 token once CALSYNC_CHANNEL_TOKEN_V1=reject, and still rejects forged ones as forged', () => {
    const off: TokenCheck = { ...LIVE, v1: 'reject' };
    expect(verifyChannelToken(secrets, CHANNEL_ID, v1(), off)).toEqual({
      ok: false,
      reason: 'v1_rejected',
    });
    expect(verifyChannelToken(secrets, CHANNEL_ID, v1(Buffer.from(OTHER_SECRET)), off)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(verifyChannelToken(secrets, CHANNEL_ID, v2(), off).ok).toBe(true);
  });

  it('a v1 MAC does not verify as v2 or the other way round (domain-separated inputs)', () => {
    const v1mac = macOf(v1());
    const asV2 = `v2.${SUBSCRIPTION_ID}.${EXPIRY_S}.${v1mac}`;
    expect(verifyChannelToken(secrets, CHANNEL_ID, asV2, LIVE)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    const asV1 = `v1.${SUBSCRIPTION_ID}.${macOf(v2())}`;
    expect(verifyChannelToken(secrets, CHANNEL_ID, asV1, LIVE)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });
});

// The same rejections hold for both versions.
describe.each([
  ['v2', v2],
  ['v1', v1],
] as const)('verifyChannelToken (%s): secrets, tampering, truncation', (version, sign) => {
  const token = () => sign();

  it('accepts the previous secret during a rotation, and only while it is configured', () => {
    const old = sign(secrets.previous);
    expect(verifyChannelToken(secrets, CHANNEL_ID, old, LIVE)).toMatchObject({
      ok: true,
      subscriptionId: SUBSCRIPTION_ID,
      key: 'previous',
    });
    const afterRotation = { current: secrets.current, previous: undefined };
    expect(verifyChannelToken(afterRotation, CHANNEL_ID, old, LIVE)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    // After promoting the new secret, tokens signed with it keep working as "previous".
    const promoted = { current: Buffer.from(OTHER_SECRET), previous: secrets.current };
    expect(verifyChannelToken(promoted, CHANNEL_ID, token(), LIVE)).toMatchObject({
      ok: true,
      key: 'previous',
    });
  });

  it('rejects a token signed with an unknown secret, or presented for another channel', () => {
    expect(verifyChannelToken(secrets, CHANNEL_ID, sign(Buffer.from(OTHER_SECRET)), LIVE)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(verifyChannelToken(secrets, 'another-channel', token(), LIVE)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('rejects a tampered subscription id (the MAC covers it)', () => {
    const other = subscriptionIdFor('attacker', 'primary');
    expect(
      verifyChannelToken(secrets, CHANNEL_ID, token().replace(SUBSCRIPTION_ID, other), LIVE),
    ).toEqual({ ok: false, reason: 'bad_signature' });
    const flippedId = `${SUBSCRIPTION_ID.slice(0, -1)}${SUBSCRIPTION_ID.endsWith('A') ? 'B' : 'A'}`;
    expect(
      verifyChannelToken(secrets, CHANNEL_ID, token().replace(SUBSCRIPTION_ID, flippedId), LIVE),
    ).toEqual({ ok: false, reason: 'bad_signature' });
    expect(
      verifyChannelToken(secrets, CHANNEL_ID, token().replace(SUBSCRIPTION_ID, 'users_x'), LIVE),
    ).toEqual({ ok: false, reason: 'bad_subscription_id' });
  });

  it('rejects truncated tokens of every length', () => {
    const full = token();
    for (let n = 0; n < full.length; n++) {
      expect(verifyChannelToken(secrets, CHANNEL_ID, full.slice(0, n), LIVE).ok, `${n} chars`).toBe(
        false,
      );
    }
  });

  it('rejects a tampered signature, a padded one, and one with extra characters', () => {
    const full = token();
    const sig = macOf(full);
    const flipped = `${full.slice(0, -1)}${full.endsWith('A') ? 'Q' : 'A'}`;
    expect(verifyChannelToken(secrets, CHANNEL_ID, flipped, LIVE).ok).toBe(false);
    expect(verifyChannelToken(secrets, CHANNEL_ID, `${full}=`, LIVE)).toEqual({
      ok: false,
      reason: 'malformed',
    });
    expect(verifyChannelToken(secrets, CHANNEL_ID, `${full}A`, LIVE)).toEqual({
      ok: false,
      reason: 'malformed',
    });
    const std = Buffer.from(sig, 'base64url').toString('base64').replace(/=+$/, '');
    if (std !== sig) {
      expect(verifyChannelToken(secrets, CHANNEL_ID, full.replace(sig, std), LIVE).ok).toBe(false);
    }
  });

  it('rejects a non-canonical base64url signature (same bytes, different last character)', () => {
    const full = token();
    const last = full.at(-1) as string;
    // The last of 43 characters carries 4 bits + 2 zero bits; setting a low bit decodes to the same bytes.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const forged = `${full.slice(0, -1)}${alphabet[alphabet.indexOf(last) + 1] as string}`;
    expect(Buffer.from(macOf(forged), 'base64url')).toEqual(Buffer.from(macOf(full), 'base64url'));
    expect(verifyChannelToken(secrets, CHANNEL_ID, forged, LIVE)).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('rejects missing, over-long, unknown-version and garbage tokens without throwing', () => {
    expect(verifyChannelToken(secrets, CHANNEL_ID, '', LIVE)).toEqual({
      ok: false,
      reason: 'missing',
    });
    expect(
      verifyChannelToken(secrets, CHANNEL_ID, `${version}.`.padEnd(10_000, 'a'), LIVE),
    ).toEqual({ ok: false, reason: 'too_long' });
    for (const junk of [
      token().replace(/^v\d/, 'v3'),
      `${version}..`,
      `${version}.s_x`,
      `${token()}.extra`,
      'target=myApp-myCalendarChannelDest',
      `${version}.s_aaaaaaaaaaaaaaaaaaaaaaaa.ééééé`,
      ' '.repeat(20),
    ]) {
      expect(verifyChannelToken(secrets, CHANNEL_ID, junk, LIVE).ok, junk).toBe(false);
    }
  });

  it('rejects when the channel id could not have been signed (empty, "|", too long)', () => {
    for (const channelId of ['', 'a|b', 'x'.repeat(65)]) {
      expect(verifyChannelToken(secrets, channelId, token(), LIVE)).toEqual({
        ok: false,
        reason: 'malformed',
      });
    }
  });
});
