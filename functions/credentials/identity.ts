// The Google account behind a refresh token (OpenID `sub` from the token endpoint's id_token) and revocation of a grant at Google's OAuth revoke endpoint.
import type { OAuthClientConfig } from '../config.js';
import { registerSecret } from '../log.js';
import type { GoogleAccount } from './store.js';

/**
 * Scopes calsync asks for: OpenID (the account's stable `sub`), email (shown in status and on the
 * calendar document) and read-only Calendar access.
 */
export const CALSYNC_SCOPES = [
  'openid',
  'email',
  'https://www.googleapis.com/auth/calendar.readonly',
] as const;
export const CALENDAR_READONLY_SCOPE = 'https://www.googleapis.com/auth/calendar.readonly';

export type IdentifyFailure =
  'invalid_grant' | 'invalid_client' | 'unavailable' | 'no_calendar_scope';

export class IdentifyError extends Error {
  constructor(
    readonly kind: IdentifyFailure,
    message: string,
  ) {
    super(message);
    this.name = 'IdentifyError';
  }
}

export interface Identified {
  account: GoogleAccount;
  /** Scopes Google says the grant carries (the token response's `scope`). */
  scopes: string[];
}

interface TokenResponse {
  access_token?: string;
  scope?: string;
  id_token?: string;
  error?: string;
  error_description?: string;
}

const ISSUERS = new Set(['https://accounts.google.com', 'accounts.google.com']);

/**
 * Refreshes once and reads who the token belongs to. Google returns an `id_token` with the
 * refresh grant when the grant includes `openid`; its `sub` is "unique among all Google accounts
 * and never reused … use sub within your application as the unique-identifier key for the user",
 * while an email address may change (https://developers.google.com/identity/openid-connect/openid-connect#an-id-tokens-payload).
 * The id_token comes straight from Google's token endpoint over TLS, authenticated with our
 * client secret, so its signature need not be checked ("since you are communicating directly
 * with Google over an intermediary-free HTTPS channel … you can be confident that the token you
 * receive really comes from Google", same page, "Obtain user information from the ID token").
 *
 * A grant without `openid` (a token made before calsync asked for it) has no id_token: the
 * account is then identified by its primary calendar, whose id is the account's address
 * (`primaryCalendarId`), as `email:<address>`.
 */
export async function identifyAccount(
  oauth: OAuthClientConfig,
  refreshToken: string,
  o: { timeoutMs: number; primaryCalendarId: () => Promise<string> },
): Promise<Identified> {
  const body = await refresh(oauth, refreshToken, o.timeoutMs);
  const scopes = (body.scope ?? '').split(/\s+/).filter(Boolean);
  if (scopes.length > 0 && !scopes.some((s) => /\/auth\/calendar(\.readonly)?$/.test(s))) {
    throw new IdentifyError(
      'no_calendar_scope',
      `the grant does not include Calendar access (it has: ${scopes.join(' ')}); consent again with ${CALENDAR_READONLY_SCOPE}`,
    );
  }
  const claims = body.id_token ? idTokenClaims(body.id_token, oauth.clientId) : undefined;
  if (claims) {
    return {
      account: { accountId: claims.sub, email: claims.email ?? null, identity: 'openid' },
      scopes,
    };
  }
  const address = (await o.primaryCalendarId()).toLowerCase();
  return {
    account: { accountId: `email:${address}`, email: address, identity: 'primary-calendar' },
    scopes,
  };
}

async function refresh(
  oauth: OAuthClientConfig,
  refreshToken: string,
  timeoutMs: number,
): Promise<TokenResponse> {
  let res: Response;
  try {
    res = await fetch(oauth.tokenUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: oauth.clientId,
        client_secret: oauth.clientSecret,
      }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new IdentifyError('unavailable', `token endpoint unreachable: ${(err as Error).name}`);
  }
  const body = (await res.json().catch(() => ({}))) as TokenResponse;
  registerSecret(body.access_token);
  if (res.ok && body.access_token) return body;
  if (body.error === 'invalid_grant') {
    throw new IdentifyError('invalid_grant', 'Google rejected the refresh token (invalid_grant)');
  }
  if (body.error === 'invalid_client' || res.status === 401) {
    throw new IdentifyError('invalid_client', 'Google rejected the OAuth client (invalid_client)');
  }
  throw new IdentifyError(
    'unavailable',
    `token endpoint answered ${res.status} ${body.error ?? ''}`,
  );
}

/** The payload of an id_token from the token endpoint: `sub` required, issuer and audience ours. */
function idTokenClaims(
  idToken: string,
  clientId: string,
): { sub: string; email?: string } | undefined {
  const payload = idToken.split('.')[1];
  if (!payload) return undefined;
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
  } catch {
    return undefined;
  }
  const sub = claims.sub;
  if (typeof sub !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(sub) || sub.includes('/')) {
    return undefined;
  }
  if (!ISSUERS.has(String(claims.iss)) || claims.aud !== clientId) return undefined;
  const email = typeof claims.email === 'string' ? claims.email.toLowerCase() : undefined;
  return email ? { sub, email } : { sub };
}

export type RevokeOutcome = 'revoked' | 'already_invalid' | 'failed';

/**
 * The revoke endpoint next to the token endpoint: https://oauth2.googleapis.com/revoke in
 * production (https://developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke),
 * the simulator's /revoke on loopback.
 */
export function revokeUrl(tokenUrl: string): string {
  const url = new URL(tokenUrl);
  if (url.hostname === 'www.googleapis.com') return 'https://oauth2.googleapis.com/revoke';
  return new URL('/revoke', url).toString();
}

/**
 * Revokes the grant behind `refreshToken` at Google: POST token=… form-encoded; 200 means revoked,
 * 400 means the token was already invalid (expired or revoked). Never throws.
 */
export async function revokeGrant(
  oauth: OAuthClientConfig,
  refreshToken: string,
  timeoutMs: number,
): Promise<RevokeOutcome> {
  try {
    const res = await fetch(revokeUrl(oauth.tokenUrl), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: refreshToken }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.ok) return 'revoked';
    return res.status === 400 ? 'already_invalid' : 'failed';
  } catch {
    return 'failed';
  }
}
