// OAuth: POST /token (refresh_token grant) like https://oauth2.googleapis.com/token, and bearer checks.
// https://developers.google.com/identity/protocols/oauth2/web-server#offline ; error bodies per
// RFC 6749 §5.2 and CALENDAR-API.md "OAuth" (invalid_grant "Token has been expired or revoked.").
import { randomBytes } from 'node:crypto';
import type { SimClock } from './clock.js';
import { errors } from './errors.js';
import type { Reply } from './http.js';
import type { Store } from './store.js';
import type { UserState } from './types.js';

export const CALENDAR_SCOPE = 'https://www.googleapis.com/auth/calendar';

interface AccessToken {
  email: string;
  clientId: string;
  expiresAt: number;
}

export interface OAuthOptions {
  clientId: string;
  clientSecret: string;
  accessTokenTtlSeconds: number;
}

export class OAuth {
  private readonly tokens = new Map<string, AccessToken>();

  constructor(
    private readonly store: Store,
    private readonly clock: SimClock,
    private readonly opts: OAuthOptions,
  ) {}

  /** Handle a form-encoded token request. */
  token(form: URLSearchParams, authorization: string | undefined): Reply {
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
      return {
        status: 401,
        body: { error: 'invalid_client', error_description: 'The OAuth client was not found.' },
      };
    }
    if (clientSecret !== this.opts.clientSecret) {
      return { status: 401, body: { error: 'invalid_client', error_description: 'Unauthorized' } };
    }
    const grant = form.get('grant_type');
    if (grant !== 'refresh_token') {
      return {
        status: 400,
        body: {
          error: 'unsupported_grant_type',
          error_description: `Invalid grant_type: ${grant ?? ''}`,
        },
      };
    }
    const refresh = form.get('refresh_token');
    const user = refresh ? this.userByRefreshToken(refresh) : undefined;
    if (!user || user.revoked) {
      return {
        status: 400,
        body: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' },
      };
    }
    const access = `ya29.sim-${randomBytes(24).toString('base64url')}`;
    this.tokens.set(access, {
      email: user.email,
      clientId,
      expiresAt: this.clock.now() + this.opts.accessTokenTtlSeconds * 1000,
    });
    return {
      status: 200,
      body: {
        access_token: access,
        expires_in: this.opts.accessTokenTtlSeconds,
        scope: CALENDAR_SCOPE,
        token_type: 'Bearer',
      },
      headers: { Pragma: 'no-cache' },
    };
  }

  private userByRefreshToken(refresh: string): UserState | undefined {
    for (const u of this.store.users.values()) if (u.refreshTokens.has(refresh)) return u;
    return undefined;
  }

  /** The user behind `Authorization: Bearer ...`; 401 authError when missing, unknown or expired. */
  authenticate(authorization: string | undefined): { user: UserState; clientId: string } {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    const t = m ? this.tokens.get(m[1]!) : undefined;
    if (!t || t.expiresAt <= this.clock.now()) throw errors.auth();
    const user = this.store.users.get(t.email);
    if (!user || user.revoked) throw errors.auth();
    return { user, clientId: t.clientId };
  }

  /** Revocation kills every refresh and access token of the user. */
  revoke(email: string): void {
    const user = this.store.user(email);
    user.revoked = true;
    for (const [k, t] of this.tokens) if (t.email === email) this.tokens.delete(k);
  }
}
