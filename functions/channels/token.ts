// Channel tokens: sign and verify the stateless HMAC token Google echoes in X-Goog-Channel-Token (v2 carries the channel's expiry inside the MAC).
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ChannelSecrets, ChannelTokenPolicy } from '../config.js';
import { SUBSCRIPTION_ID_PATTERN } from '../ids.js';

/**
 * Token layouts (docs/decisions/004-channel-token-v2.md):
 * - `v2.<subscriptionId>.<expiry>.<mac>`, mac = base64url HMAC-SHA256(secret, `v2|channelId|subscriptionId|expiry`),
 *   expiry = the channel's requested expiration in whole seconds since the epoch (no leading zero);
 * - `v1.<subscriptionId>.<mac>`, mac = base64url HMAC-SHA256(secret, `channelId|subscriptionId`): no
 *   expiry, accepted only while `CALSYNC_CHANNEL_TOKEN_V1=accept`.
 */
export const CHANNEL_TOKEN_VERSION = 'v2';

/** Google accepts channel tokens of up to 256 characters; v2 ones are 84. Anything longer is refused unread. */
export const MAX_CHANNEL_TOKEN_LENGTH = 256;

const MAC_BYTES = 32;
const MAC_CHARS = 43; // base64url of 32 bytes, no padding
const V1_PATTERN = /^v1\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;
const V2_PATTERN = /^v2\.([A-Za-z0-9_-]+)\.([0-9]+)\.([A-Za-z0-9_-]+)$/;
/** Whole seconds, no leading zero, at most 12 digits (year 33658). */
const EXPIRY_PATTERN = /^[1-9][0-9]{0,11}$/;
/** Channel ids are ours (≤ 64 chars, Google's limit); `|` would make the MAC input ambiguous. */
const CHANNEL_ID_PATTERN = /^[\x21-\x7e]{1,64}$/;

export type ChannelTokenFailure =
  | 'missing'
  | 'too_long'
  | 'malformed'
  | 'bad_subscription_id'
  | 'bad_signature'
  /** A v2 token whose expiry (plus the grace period) has passed: a replay or a dead channel. */
  | 'expired'
  /** A valid v1 token after the operator switched v1 off (`CALSYNC_CHANNEL_TOKEN_V1=reject`). */
  | 'v1_rejected';

export type ChannelTokenVerdict =
  | {
      ok: true;
      subscriptionId: string;
      /** Which secret verified it: `previous` means the channel predates a secret rotation. */
      key: 'current' | 'previous';
      version: 1 | 2;
      /** v2 only: the expiry signed into the token (ms since epoch). */
      expiresAt?: number;
    }
  | { ok: false; reason: ChannelTokenFailure };

/** What verification needs besides the secrets: the time and the operator's v1 / grace settings. */
export interface TokenCheck extends ChannelTokenPolicy {
  /** ms since epoch. */
  readonly now: number;
}

function macV1(secret: Buffer, channelId: string, subscriptionId: string): Buffer {
  return createHmac('sha256', secret).update(`${channelId}|${subscriptionId}`, 'utf8').digest();
}

function macV2(secret: Buffer, channelId: string, subscriptionId: string, expiry: string): Buffer {
  return createHmac('sha256', secret)
    .update(`v2|${channelId}|${subscriptionId}|${expiry}`, 'utf8')
    .digest();
}

function validChannelId(channelId: string): boolean {
  return CHANNEL_ID_PATTERN.test(channelId) && !channelId.includes('|');
}

function checkInputs(secret: Buffer, channelId: string, subscriptionId: string): void {
  if (secret.length === 0) throw new Error('channel secret is empty');
  if (!validChannelId(channelId)) {
    throw new Error('channel id must be 1-64 visible ASCII characters without "|"');
  }
  if (!SUBSCRIPTION_ID_PATTERN.test(subscriptionId)) {
    throw new Error('subscription id must look like s_ + 24 base64url characters');
  }
}

/**
 * The token to pass as `token` to `events.watch` for channel `channelId` of `subscriptionId`.
 * With `expiresAt` (ms; the expiration requested from Google) it is a v2 token that stops
 * verifying once that time plus the grace period has passed; without it, a legacy v1 token
 * (kept for tests of the transition only — production always signs v2).
 */
export function signChannelToken(
  secret: Buffer,
  channelId: string,
  subscriptionId: string,
  expiresAt?: number,
): string {
  checkInputs(secret, channelId, subscriptionId);
  if (expiresAt === undefined) {
    return `v1.${subscriptionId}.${macV1(secret, channelId, subscriptionId).toString('base64url')}`;
  }
  const expiry = String(Math.ceil(expiresAt / 1000));
  if (!EXPIRY_PATTERN.test(expiry)) throw new Error('channel expiry must be a positive time');
  const mac = macV2(secret, channelId, subscriptionId, expiry).toString('base64url');
  return `${CHANNEL_TOKEN_VERSION}.${subscriptionId}.${expiry}.${mac}`;
}

/** Decodes a base64url MAC, refusing non-canonical encodings (stray low bits): one token per MAC. */
function decodeMac(signature: string): Buffer | undefined {
  if (signature.length !== MAC_CHARS) return undefined;
  const given = Buffer.from(signature, 'base64url');
  return given.length === MAC_BYTES && given.toString('base64url') === signature
    ? given
    : undefined;
}

type Parsed =
  | { version: 1; subscriptionId: string; mac: Buffer }
  | { version: 2; subscriptionId: string; mac: Buffer; expiry: string };

function parse(token: string): Parsed | ChannelTokenFailure {
  const v2 = V2_PATTERN.exec(token);
  const v1 = v2 ? null : V1_PATTERN.exec(token);
  const parts = v2 ?? v1;
  if (!parts) return 'malformed';
  const subscriptionId = parts[1] as string;
  if (!SUBSCRIPTION_ID_PATTERN.test(subscriptionId)) return 'bad_subscription_id';
  const mac = decodeMac((v2 ? parts[3] : parts[2]) as string);
  if (!mac) return 'malformed';
  if (!v2) return { version: 1, subscriptionId, mac };
  const expiry = parts[2] as string;
  if (!EXPIRY_PATTERN.test(expiry)) return 'malformed';
  return { version: 2, subscriptionId, mac, expiry };
}

/**
 * Checks that `token` was signed by us for exactly `channelId`, with the current secret or, during
 * a rotation, the previous one; a v2 token must not be past its expiry plus `check.graceMs`, and a
 * v1 token is refused once `check.v1` is `reject`. Constant-time in the signature (both secrets
 * are always tried); no database read.
 */
export function verifyChannelToken(
  secrets: ChannelSecrets,
  channelId: string,
  token: string,
  check: TokenCheck,
): ChannelTokenVerdict {
  if (token === '') return { ok: false, reason: 'missing' };
  if (token.length > MAX_CHANNEL_TOKEN_LENGTH) return { ok: false, reason: 'too_long' };
  if (!validChannelId(channelId)) return { ok: false, reason: 'malformed' };
  const p = parse(token);
  if (typeof p === 'string') return { ok: false, reason: p };
  const expected = (secret: Buffer) =>
    p.version === 2
      ? macV2(secret, channelId, p.subscriptionId, p.expiry)
      : macV1(secret, channelId, p.subscriptionId);
  // Compute both candidates whatever the outcome, so timing does not reveal which secret matched.
  const current = timingSafeEqual(expected(secrets.current), p.mac);
  const previous =
    secrets.previous !== undefined && timingSafeEqual(expected(secrets.previous), p.mac);
  if (!current && !previous) return { ok: false, reason: 'bad_signature' };
  const key = current ? 'current' : 'previous';
  if (p.version === 1) {
    if (check.v1 === 'reject') return { ok: false, reason: 'v1_rejected' };
    return { ok: true, subscriptionId: p.subscriptionId, key, version: 1 };
  }
  const expiresAt = Number(p.expiry) * 1000;
  if (check.now > expiresAt + check.graceMs) return { ok: false, reason: 'expired' };
  return { ok: true, subscriptionId: p.subscriptionId, key, version: 2, expiresAt };
}
