// Unit test: channel token signatures are compared with crypto.timingSafeEqual on equal-length buffers, for both secrets.
import * as crypto from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const { signChannelToken, verifyChannelToken } =
  await import('../../../functions/channels/token.js');
const { CHANNEL_ID, CHANNEL_EXPIRES_AT, SUBSCRIPTION_ID, TOKEN_POLICY, secrets } =
  await import('../../fixtures/notifications/notifications.js');
const CHECK = { ...TOKEN_POLICY, now: CHANNEL_EXPIRES_AT - 60_000 };

const spy = vi.mocked(crypto.timingSafeEqual);

describe('constant-time comparison', () => {
  beforeEach(() => {
    spy.mockClear();
  });

  it('compares 32-byte buffers with timingSafeEqual, against current and previous secret alike', () => {
    const token = signChannelToken(
      secrets.current,
      CHANNEL_ID,
      SUBSCRIPTION_ID,
      CHANNEL_EXPIRES_AT,
    );
    expect(verifyChannelToken(secrets, CHANNEL_ID, token, CHECK).ok).toBe(true);
    // Both secrets are tried even when the first matches: timing does not tell which one did.
    expect(spy).toHaveBeenCalledTimes(2);
    for (const [a, b] of spy.mock.calls) {
      expect((a as Buffer).length).toBe(32);
      expect((b as Buffer).length).toBe(32);
    }
  });

  it('goes through the same comparison whether the first or the last byte is wrong', () => {
    const token = signChannelToken(
      secrets.current,
      CHANNEL_ID,
      SUBSCRIPTION_ID,
      CHANNEL_EXPIRES_AT,
    );
    const sig = Buffer.from(token.split('.').at(-1) as string, 'base64url');
    for (const index of [0, 31]) {
      spy.mockClear();
      const bad = Buffer.from(sig);
      bad[index] = (bad[index] as number) ^ 0x01;
      const forged = `${token.split('.').slice(0, -1).join('.')}.${bad.toString('base64url')}`;
      expect(verifyChannelToken(secrets, CHANNEL_ID, forged, CHECK)).toEqual({
        ok: false,
        reason: 'bad_signature',
      });
      expect(spy).toHaveBeenCalledTimes(2);
    }
  });

  it('never reaches the comparison with a buffer of the wrong length (rejected as malformed first)', () => {
    const token = signChannelToken(
      secrets.current,
      CHANNEL_ID,
      SUBSCRIPTION_ID,
      CHANNEL_EXPIRES_AT,
    );
    expect(verifyChannelToken(secrets, CHANNEL_ID, token.slice(0, -2), CHECK).ok).toBe(false);
    expect(spy).not.toHaveBeenCalled();
  });
});
