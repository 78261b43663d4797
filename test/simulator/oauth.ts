// OAuth as Google plays it: POST /token (refresh grant), /revoke, /tokeninfo, OpenID /v1/userinfo,
// signing keys for id_tokens, grants with the scopes a user really granted, and bearer checks.
//
// Sources (cited per rule below):
// - token endpoint, refresh grant, `scope` in the answer, revocation and the 7-day expiry of refresh
//   tokens of apps in "testing" publishing status: https://developers.google.com/identity/protocols/oauth2
//   and .../oauth2/web-server (#offline, #tokenrevoke, #exchange-authorization-code);
// - error bodies `{error, error_description}` (RFC 6749 §5.2). invalid_grant variants: "Token has been
//   expired or revoked." (CALENDAR-API.md "OAuth"); "Bad Request" (fixture
//   compass/errors__error.google.invalidGrant.json); invalid_rapt with error_uri and error_subtype as
//   recorded in public clients' tests (GAM-team/GAM's list of Google OAuth errors: "invalid_grant:
//   reauth related error (invalid_rapt)");
// - `scope` lists `email` as https://www.googleapis.com/auth/userinfo.email (real token answers
//   printed in public code, e.g. "userinfo.email openid …");
// - tokeninfo: string-valued {azp, aud, sub, scope, exp, expires_in, email, email_verified,
//   access_type}; an unknown token is 400 {"error":"invalid_token","error_description":"Invalid Value"}
//   (google-auth-library's TokenInfo type; answers quoted in public clients);
// - id_token claims: https://developers.google.com/identity/openid-connect/openid-connect#an-id-tokens-payload.
//   The simulator signs RS256 with a key made per process and publishes it at /oauth2/v3/certs (JWK)
//   and /oauth2/v1/certs (PEM public key), so google-auth-library's verifyIdToken works when its
//   cert URLs point here. iat/exp are on the SIMULATED clock.
import {
  createHash,
  createSign,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import type { SimClock } from './clock.js';
import { ApiError, errors } from './errors.js';
import type { Reply } from './http.js';
import type { Store } from './store.js';
import type { GrantState, InvalidGrantVariant, UserState } from './types.js';

export const CALENDAR_SCOPE = 'https://www.googleapis.com/auth/calendar';
export const CALENDAR_READONLY_SCOPE = 'https://www.googleapis.com/auth/calendar.readonly';
export const EMAIL_SCOPE = 'https://www.googleapis.com/auth/userinfo.email';
/** What calsync asks for (`openid email …calendar.readonly`), as Google reports it back. */
export const DEFAULT_GRANTED_SCOPES = ['openid', EMAIL_SCOPE, CALENDAR_READONLY_SCOPE];
/** Refresh tokens of apps in "testing" publishing status expire after 7 days (OAuth 2.0 overview). */
export const TESTING_REFRESH_TOKEN_TTL_MS = 7 * 24 * 3600 * 1000;
export const ISSUER = 'https://accounts.google.com';

const SHORT_SCOPES: Record<string, string> = {
  email: EMAIL_SCOPE,
  profile: 'https://www.googleapis.com/auth/userinfo.profile',
};

/** Scope names as Google writes them back: `email` and `profile` become their userinfo URLs. */
export function normalizeScopes(scopes: readonly string[]): string[] {
  return [...new Set(scopes.map((s) => SHORT_SCOPES[s] ?? s))];
}

const INVALID_GRANT: Record<InvalidGrantVariant, Record<string, string>> = {
  revoked: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' },
  bad_request: { error: 'invalid_grant', error_description: 'Bad Request' },
  invalid_rapt: {
    error: 'invalid_grant',
    error_description: 'reauth related error (invalid_rapt)',
    error_uri: 'https://support.google.com/a/answer/9368756',
    error_subtype: 'invalid_rapt',
  },
};

const INVALID_TOKEN = { error: 'invalid_token', error_description: 'Invalid Value' };

interface AccessToken {
  email: string;
  clientId: string;
  refreshToken: string;
  scopes: string[];
  enforceScopes: boolean;
  expiresAt: number;
}

export interface OAuthOptions {
  clientId: string;
  clientSecret: string;
  accessTokenTtlSeconds: number;
  /** 'testing': refresh tokens expire 7 days after they were issued (simulated clock). */
  publishingStatus: 'production' | 'testing';
}

export interface GrantOptions {
  /** Scopes granted; omitted = calsync's scopes, reported but not enforced (see addGrant). */
  scopes?: string[];
  /** Refresh-token lifetime in seconds; default none ('testing' status: 7 days). */
  refreshTokenTtlSeconds?: number;
}

/**
 * The RS256 key pair signing id_tokens, made once per process on first use. 1024-bit: Google's
 * keys are 2048-bit, but verification is the same and generation is ~20x faster (15 ms vs 300 ms
 * measured here), which matters because every test process makes one.
 */
let signingKey: { kid: string; privateKey: KeyObject; publicKey: KeyObject } | undefined;
function key(): NonNullable<typeof signingKey> {
  if (!signingKey) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const der = publicKey.export({ type: 'spki', format: 'der' });
    signingKey = {
      kid: createHash('sha256').update(der).digest('hex').slice(0, 40),
      privateKey,
      publicKey,
    };
  }
  return signingKey;
}

function b64url(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}

export class OAuth {
  private readonly tokens = new Map<string, AccessToken>();

  constructor(
    private readonly store: Store,
    private readonly clock: SimClock,
    readonly opts: OAuthOptions,
  ) {}

  /**
   * A refresh token for `user` with the scopes they granted. Without explicit `scopes` the grant
   * reports calsync's scopes (openid email calendar.readonly) but calls are not checked against
   * them: tests play the user's own edits (made in Google's UI) through the same refresh token.
   * With explicit scopes every API call is checked (403 insufficientPermissions). Re-adding a
   * refresh token makes it a fresh grant (the user consented again).
   */
  addGrant(user: UserState, refreshToken: string, o: GrantOptions = {}): GrantState {
    for (const u of this.store.users.values()) {
      if (u !== user && u.grants.has(refreshToken))
        throw new Error(`refresh token already belongs to ${u.email}`);
    }
    const now = this.clock.now();
    const ttlMs =
      o.refreshTokenTtlSeconds !== undefined
        ? o.refreshTokenTtlSeconds * 1000
        : this.opts.publishingStatus === 'testing'
          ? TESTING_REFRESH_TOKEN_TTL_MS
          : undefined;
    const grant: GrantState = {
      refreshToken,
      email: user.email,
      scopes: normalizeScopes(o.scopes ?? DEFAULT_GRANTED_SCOPES),
      enforceScopes: o.scopes !== undefined,
      issuedAt: now,
      expiresAt: ttlMs === undefined ? undefined : now + ttlMs,
    };
    this.dropAccessTokens((t) => t.refreshToken === refreshToken);
    user.grants.set(refreshToken, grant);
    return grant;
  }

  /** Handle a form-encoded token request. */
  token(form: URLSearchParams, authorization: string | undefined): Reply {
    const client = this.client(form, authorization);
    if ('status' in client) return client;
    const grantType = form.get('grant_type');
    if (grantType !== 'refresh_token') {
      return oauthError(400, {
        error: 'unsupported_grant_type',
        error_description: `Invalid grant_type: ${grantType ?? ''}`,
      });
    }
    const found = this.grant(form.get('refresh_token') ?? '');
    if (!found) return oauthError(400, INVALID_GRANT.revoked);
    const { user, grant } = found;
    const dead = this.deadVariant(grant);
    if (dead) return oauthError(400, INVALID_GRANT[dead]);
    const access = `ya29.sim-${randomBytes(24).toString('base64url')}`;
    const ttl = this.opts.accessTokenTtlSeconds;
    this.tokens.set(access, {
      email: user.email,
      clientId: client.clientId,
      refreshToken: grant.refreshToken,
      scopes: grant.scopes,
      enforceScopes: grant.enforceScopes,
      expiresAt: this.clock.now() + ttl * 1000,
    });
    const body: Record<string, unknown> = {
      access_token: access,
      expires_in: ttl,
      scope: grant.scopes.join(' '),
      token_type: 'Bearer',
    };
    if (grant.scopes.includes('openid')) body.id_token = this.idToken(user, grant, client.clientId);
    return { status: 200, body, headers: { Pragma: 'no-cache' } };
  }

  private client(
    form: URLSearchParams,
    authorization: string | undefined,
  ): { clientId: string } | Reply {
    let clientId = form.get('client_id') ?? undefined;
    let clientSecret = form.get('client_secret') ?? undefined;
    if (authorization?.startsWith('Basic ')) {
      const [id, secret] = Buffer.from(authorization.slice(6), 'base64')
        .toString('utf8')
        .split(':');
      clientId = decodeURIComponent(id ?? '');
      clientSecret = decodeURIComponent(secret ?? '');
    }
    if (clientId !== this.opts.clientId) {
      return oauthError(401, {
        error: 'invalid_client',
        error_description: 'The OAuth client was not found.',
      });
    }
    if (clientSecret !== this.opts.clientSecret) {
      return oauthError(401, { error: 'invalid_client', error_description: 'Unauthorized' });
    }
    return { clientId };
  }

  private grant(refreshToken: string): { user: UserState; grant: GrantState } | undefined {
    if (refreshToken === '') return undefined;
    for (const user of this.store.users.values()) {
      const grant = user.grants.get(refreshToken);
      if (grant) return { user, grant };
    }
    return undefined;
  }

  /** Why a grant can no longer refresh, if it cannot. */
  private deadVariant(grant: GrantState): InvalidGrantVariant | undefined {
    if (grant.failure) return grant.failure;
    if (grant.expiresAt !== undefined && this.clock.now() >= grant.expiresAt) return 'revoked';
    return undefined;
  }

  /** An OpenID Connect id_token for the grant (RS256, key at /oauth2/v3/certs). */
  private idToken(user: UserState, grant: GrantState, clientId: string): string {
    const k = key();
    const iat = Math.floor(this.clock.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: ISSUER,
      azp: clientId,
      aud: clientId,
      sub: user.sub,
    };
    if (grant.scopes.includes(EMAIL_SCOPE)) {
      claims.email = user.email;
      claims.email_verified = true;
    }
    claims.iat = iat;
    claims.exp = iat + 3600;
    const input = `${b64url({ alg: 'RS256', kid: k.kid, typ: 'JWT' })}.${b64url(claims)}`;
    const sig = createSign('RSA-SHA256').update(input).sign(k.privateKey).toString('base64url');
    return `${input}.${sig}`;
  }

  /** GET /oauth2/v3/certs: the id_token key as a JWK set. */
  jwks(): Reply {
    const k = key();
    const jwk = k.publicKey.export({ format: 'jwk' });
    return {
      status: 200,
      body: { keys: [{ ...jwk, kid: k.kid, alg: 'RS256', use: 'sig' }] },
    };
  }

  /** GET /oauth2/v1/certs: {kid: PEM} as google-auth-library reads it in Node. */
  pemCerts(): Reply {
    const k = key();
    return {
      status: 200,
      body: { [k.kid]: k.publicKey.export({ type: 'spki', format: 'pem' }).toString() },
    };
  }

  /**
   * POST /revoke (form or query `token`): a refresh token or one of its access tokens ends the
   * whole grant; later refreshes answer invalid_grant. Unknown or already revoked: 400
   * {"error":"invalid_token","error_description":"Token expired or revoked"} (the answer public
   * clients record for Google's revoke endpoint; status 200 with an empty body on success).
   */
  revokeToken(token: string | null): Reply {
    const access = token ? this.tokens.get(token) : undefined;
    const refreshToken = access ? access.refreshToken : (token ?? '');
    const found = this.grant(refreshToken);
    if (!found || found.grant.failure) {
      return oauthError(400, {
        error: 'invalid_token',
        error_description: 'Token expired or revoked',
      });
    }
    this.failGrant(found.grant, 'revoked');
    return { status: 200, body: {} };
  }

  /** Make a grant answer `variant` from now on; its access tokens stop working too. */
  failGrant(grant: GrantState, variant: InvalidGrantVariant): void {
    grant.failure = variant;
    this.dropAccessTokens((t) => t.refreshToken === grant.refreshToken);
  }

  /** Revocation by the user (control API): every grant of the user, or the one named. */
  revoke(email: string, variant: InvalidGrantVariant = 'revoked', refreshToken?: string): void {
    const user = this.store.user(email);
    if (refreshToken !== undefined && !user.grants.has(refreshToken))
      throw new Error(`no grant ${refreshToken} for ${email}`);
    for (const grant of user.grants.values()) {
      if (refreshToken === undefined || grant.refreshToken === refreshToken)
        this.failGrant(grant, variant);
    }
  }

  private dropAccessTokens(match: (t: AccessToken) => boolean): void {
    for (const [k, t] of this.tokens) if (match(t)) this.tokens.delete(k);
  }

  /** A live access token, or undefined (expired on the simulated clock, revoked, unknown). */
  private live(token: string | undefined): (AccessToken & { user: UserState }) | undefined {
    const t = token === undefined ? undefined : this.tokens.get(token);
    if (!t || t.expiresAt <= this.clock.now()) return undefined;
    const user = this.store.users.get(t.email);
    return user ? { ...t, user } : undefined;
  }

  /** The user behind `Authorization: Bearer ...`; 401 authError when missing, unknown or expired. */
  authenticate(authorization: string | undefined): {
    user: UserState;
    clientId: string;
    scopes: string[];
    enforceScopes: boolean;
  } {
    const t = this.live(bearer(authorization));
    if (!t) throw errors.auth();
    return { user: t.user, clientId: t.clientId, scopes: t.scopes, enforceScopes: t.enforceScopes };
  }

  /** GET|POST /tokeninfo?access_token=… (or Bearer, or id_token=…). */
  tokenInfo(params: URLSearchParams, authorization: string | undefined): Reply {
    const idToken = params.get('id_token');
    if (idToken !== null) return this.idTokenInfo(idToken);
    const t = this.live(params.get('access_token') ?? bearer(authorization));
    if (!t) return oauthError(400, INVALID_TOKEN);
    const now = this.clock.now();
    const body: Record<string, string> = { azp: t.clientId, aud: t.clientId };
    if (t.scopes.includes('openid') || t.scopes.includes(EMAIL_SCOPE)) body.sub = t.user.sub;
    body.scope = t.scopes.join(' ');
    body.exp = String(Math.floor(t.expiresAt / 1000));
    body.expires_in = String(Math.max(0, Math.floor((t.expiresAt - now) / 1000)));
    if (t.scopes.includes(EMAIL_SCOPE)) {
      body.email = t.user.email;
      body.email_verified = 'true';
    }
    body.access_type = 'offline';
    return { status: 200, body };
  }

  private idTokenInfo(idToken: string): Reply {
    const [h, c] = idToken.split('.');
    try {
      const header = JSON.parse(Buffer.from(h ?? '', 'base64url').toString()) as Record<
        string,
        unknown
      >;
      const claims = JSON.parse(Buffer.from(c ?? '', 'base64url').toString()) as Record<
        string,
        unknown
      >;
      if (header.kid !== key().kid || Number(claims.exp) * 1000 <= this.clock.now())
        return oauthError(400, INVALID_TOKEN);
      const body: Record<string, string> = {};
      for (const [k, v] of Object.entries({ ...claims, ...header })) body[k] = String(v);
      return { status: 200, body };
    } catch {
      return oauthError(400, INVALID_TOKEN);
    }
  }

  /**
   * GET /v1/userinfo (openidconnect.googleapis.com) with a Bearer token: {sub, email,
   * email_verified}. A bad token answers 401 with an OAuth error body (wording not documented).
   */
  userInfo(authorization: string | undefined): Reply {
    const t = this.live(bearer(authorization));
    if (!t) {
      return {
        status: 401,
        body: { error: 'invalid_request', error_description: 'Invalid Credentials' },
        headers: { 'WWW-Authenticate': 'Bearer realm="https://accounts.google.com/"' },
      };
    }
    const body: Record<string, unknown> = { sub: t.user.sub };
    if (t.scopes.includes(EMAIL_SCOPE)) {
      body.email = t.user.email;
      body.email_verified = true;
    }
    return { status: 200, body };
  }
}

function bearer(authorization: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  return m ? m[1] : undefined;
}

function oauthError(status: number, body: Record<string, string>): Reply {
  return { status, body, headers: { 'Cache-Control': 'no-store', Pragma: 'no-cache' } };
}

/** A stable 21-digit Google account id for an email (seeded), never equal to the email. */
export function subFor(email: string, seed: number): string {
  const digits = BigInt(`0x${createHash('sha256').update(`${seed}|${email}`).digest('hex')}`)
    .toString()
    .slice(0, 20);
  return `1${digits.padStart(20, '0')}`;
}

/** 403 insufficientPermissions in Google's newer shape (status + ErrorInfo detail). */
export function insufficientScopes(method: string): ApiError {
  return new ApiError(
    403,
    { domain: 'global', reason: 'insufficientPermissions', message: 'Insufficient Permission' },
    {},
    {
      message: 'Request had insufficient authentication scopes.',
      status: 'PERMISSION_DENIED',
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: 'ACCESS_TOKEN_SCOPE_INSUFFICIENT',
          domain: 'googleapis.com',
          metadata: { service: 'calendar-json.googleapis.com', method },
        },
      ],
    },
  );
}
