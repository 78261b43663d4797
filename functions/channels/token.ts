// Channel tokens: sign and verify the stateless HMAC token Google echoes in X-Goog-Channel-Token.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ChannelSecrets } from '../config.js';
import { SUBSCRIPTION_ID_PATTERN } from '../ids.js';

/** Token layout: `v1.<subscriptionId>.<base64url HMAC-SHA256(secret, channelId|subscriptionId)>`. */
export const CHANNEL_TOKEN_VERSION = 'v1';

/** Google accepts channel tokens of up to 256 characters; ours are 73. Anything longer is refused unread. */
export const MAX_CHANNEL_TOKEN_LENGTH = 256;

const MAC_BYTES = 32;
const MAC_CHARS = 43; // base64url of 32 bytes, no padding
const TOKEN_PATTERN = /^v1\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;
/** Channel ids are ours (≤ 64 chars, Google's limit); `|` would make the MAC input ambiguous. */
const CHANNEL_ID_PATTERN = /^[\x21-\x7e]{1,64}$/;

export type ChannelTokenFailure =
  'missing' | 'too_long' | 'malformed' | 'bad_subscription_id' | 'bad_signature';

export type ChannelTokenVerdict =
  | {
      ok: true;
      subscriptionId: string;
      /** Which secret verified it: `previous` means the channel predates a secret rotation. */
      key: 'current' | 'previous';
    }
  | { ok: false; reason: ChannelTokenFailure };

function mac(secret: Buffer, channelId: string, subscriptionId: string): Buffer {
  return createHmac('sha256', secret).update(`${channelId}|${subscriptionId}`, 'utf8').digest();
}

function validChannelId(channelId: string): boolean {
  return CHANNEL_ID_PATTERN.test(channelId) && !channelId.includes('|');
}

/** The token to pass as `token` to `events.watch` for channel `channelId` of `subscriptionId`. */
export function signChannelToken(
  secret: Buffer,
  channelId: string,
  subscriptionId: string,
): string {
  if (secret.length === 0) throw new Error('channel secret is empty');
  if (!validChannelId(channelId)) {
    throw new Error('channel id must be 1-64 visible ASCII characters without "|"');
  }
  if (!SUBSCRIPTION_ID_PATTERN.test(subscriptionId)) {
    throw new Error('subscription id must look like s_ + 24 base64url characters');
  }
  const signature = mac(secret, channelId, subscriptionId).toString('base64url');
  return `${CHANNEL_TOKEN_VERSION}.${subscriptionId}.${signature}`;
}

/**
 * Checks that `token` was signed by us for exactly `channelId`, with the current secret or, during
 * a rotation, the previous one. Constant-time in the signature; no database read.
 */
export function verifyChannelToken(
  secrets: ChannelSecrets,
  channelId: string,
  token: string,
): ChannelTokenVerdict {
  if (token === '') return { ok: false, reason: 'missing' };
  if (token.length > MAX_CHANNEL_TOKEN_LENGTH) return { ok: false, reason: 'too_long' };
  const parts = TOKEN_PATTERN.exec(token);
  if (!parts || !validChannelId(channelId)) return { ok: false, reason: 'malformed' };
  const subscriptionId = parts[1] as string;
  const signature = parts[2] as string;
  if (!SUBSCRIPTION_ID_PATTERN.test(subscriptionId)) {
    return { ok: false, reason: 'bad_subscription_id' };
  }
  if (signature.length !== MAC_CHARS) return { ok: false, reason: 'malformed' };
  const given = Buffer.from(signature, 'base64url');
  // Reject non-canonical encodings (stray low bits in the last character): one token per MAC.
  if (given.length !== MAC_BYTES || given.toString('base64url') !== signature) {
    return { ok: false, reason: 'malformed' };
  }
  // Compute both candidates whatever the outcome, so timing does not reveal which secret matched.
  const current = timingSafeEqual(mac(secrets.current, channelId, subscriptionId), given);
  const previous =
    secrets.previous !== undefined &&
    timingSafeEqual(mac(secrets.previous, channelId, subscriptionId), given);
  if (current) return { ok: true, subscriptionId, key: 'current' };
  if (previous) return { ok: true, subscriptionId, key: 'previous' };
  return { ok: false, reason: 'bad_signature' };
}
