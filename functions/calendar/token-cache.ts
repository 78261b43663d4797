// Access tokens cached per instance, per (OAuth client, refresh token), until shortly before they expire.
//
// Every sync used to build a fresh OAuth2Client and so refresh the access token (a round trip to
// Google's token endpoint, which has its own limits, on the hot path). A refresh answers
// `{access_token, expires_in, …}` (docs/CALENDAR-API.md "OAuth"; expires_in is "the remaining
// lifetime of the access token in seconds": google-auth-library CredentialRequest,
// https://cloud.google.com/nodejs/docs/reference/google-auth-library/latest/google-auth-library/credentialrequest);
// a cached one is reused until EXPIRY_MARGIN_MS before that. Keys are SHA-256 hashes, so no refresh token is kept as a key; the tokens are never logged
// (the client registers each one with the logger's redaction).
import { createHash } from 'node:crypto';

/** A cached token is not handed out within this long of its expiry (google-auth-library's own eager-refresh threshold is 5 min). */
export const EXPIRY_MARGIN_MS = 5 * 60_000;
/** Bound on entries (least recently used evicted first): ~200 bytes each. */
export const MAX_CACHED_TOKENS = 10_000;

export interface CachedToken {
  accessToken: string;
  /** ms since epoch, on the clock the cache is used with. */
  expiresAt: number;
}

export class AccessTokenCache {
  private readonly entries = new Map<string, CachedToken>();

  constructor(
    private readonly maxEntries = MAX_CACHED_TOKENS,
    private readonly marginMs = EXPIRY_MARGIN_MS,
  ) {}

  /** The cache key of a refresh token for one OAuth client (token URL and client id). */
  static keyOf(tokenUrl: string, clientId: string, refreshToken: string): string {
    return createHash('sha256').update(`${tokenUrl}\0${clientId}\0${refreshToken}`).digest('hex');
  }

  /** The token while it is valid for at least the margin; otherwise forgets it. */
  get(key: string, now: number): CachedToken | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt - this.marginMs <= now) return undefined;
    this.entries.set(key, entry); // most recently used last
    return entry;
  }

  set(key: string, token: CachedToken): void {
    this.entries.delete(key);
    this.entries.set(key, token);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Tests: forget everything. */
  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

/** The instance's cache (module scope: shared by every CalendarApi this process builds). */
export const accessTokenCache = new AccessTokenCache();
