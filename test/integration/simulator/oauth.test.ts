// Conformance: OAuth as Google answers it — POST /token (scope, id_token), granted scopes and 403
// insufficientPermissions, invalid_grant variants, 7-day refresh tokens of "testing" apps,
// /revoke, /tokeninfo, /v1/userinfo, several Google accounts, access-token expiry and 401 bodies.
// Sources are cited in test/simulator/oauth.ts next to each rule.
import { OAuth2Client } from 'google-auth-library';
import { describe, expect, it } from 'vitest';
import { googleCalendar } from '../../simulator/client.js';
import { simulatorUserFixture } from '../../harness/fixtures.js';
import type { Simulator } from '../../simulator/index.js';

function form(fields: Record<string, string>): RequestInit {
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  };
}

const refresh = (sim: Simulator, refreshToken: string) =>
  fetch(
    sim.tokenUrl,
    form({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: 'calsync-test-client',
      client_secret: 'calsync-test-secret',
    }),
  );

const AUTH_ERROR = {
  error: {
    errors: [
      {
        domain: 'global',
        reason: 'authError',
        message: 'Invalid Credentials',
        locationType: 'header',
        location: 'Authorization',
      },
    ],
    code: 401,
    message: 'Invalid Credentials',
  },
};

const CALSYNC_SCOPES = [
  'openid',
  'https://www.googleapis.com/auth/userinfo.email',
  'https://www.googleapis.com/auth/calendar.readonly',
];

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<
    string,
    unknown
  >;
}

describe('OAuth', () => {
  const google = simulatorUserFixture({
    simulator: { accessTokenTtlSeconds: 3600 },
    user: { email: 'o@example.com', refreshToken: 'rt-o' },
  });

  it('refresh grant answers {access_token, expires_in, scope, token_type, id_token}; scope = what was granted', async () => {
    const res = await refresh(google.sim, 'rt-o');
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual([
      'access_token',
      'expires_in',
      'id_token',
      'scope',
      'token_type',
    ]);
    expect(body.token_type).toBe('Bearer');
    expect(body.expires_in).toBe(3600);
    // Default grant: the scopes calsync asks for, `email` written as Google writes it back.
    expect((body.scope as string).split(' ')).toEqual(CALSYNC_SCOPES);
  });

  it('the id_token is an RS256 JWT that google-auth-library verifies against /oauth2/v1/certs', async () => {
    const body = (await (await refresh(google.sim, 'rt-o')).json()) as { id_token: string };
    const { sub } = await google.ctl.user('o@example.com');
    const verifier = new OAuth2Client({
      clientId: 'calsync-test-client',
      endpoints: { oauth2FederatedSignonPemCertsUrl: `${google.sim.url}/oauth2/v1/certs` },
    });
    const ticket = await verifier.verifyIdToken({
      idToken: body.id_token,
      audience: 'calsync-test-client',
    });
    const p = ticket.getPayload()!;
    expect(p).toMatchObject({
      iss: 'https://accounts.google.com',
      aud: 'calsync-test-client',
      azp: 'calsync-test-client',
      sub,
      email: 'o@example.com',
      email_verified: true,
    });
    expect(p.exp - p.iat).toBe(3600);
    expect(sub).toMatch(/^\d{21}$/);
    // The JWK set carries the same key id.
    const jwks = (await (await fetch(`${google.sim.url}/oauth2/v3/certs`)).json()) as {
      keys: { kid: string; kty: string; alg: string }[];
    };
    const header = JSON.parse(
      Buffer.from(body.id_token.split('.')[0]!, 'base64url').toString(),
    ) as { kid: string; alg: string };
    expect(jwks.keys).toContainEqual(
      expect.objectContaining({ kid: header.kid, kty: 'RSA', alg: 'RS256' }),
    );
  });

  it('fewer scopes granted than asked: no id_token without openid, and calendar calls answer 403 insufficientPermissions', async () => {
    await google.ctl.createUser('narrow@example.com', 'rt-narrow', { scopes: ['email'] });
    const body = (await (await refresh(google.sim, 'rt-narrow')).json()) as Record<string, unknown>;
    expect(body.scope).toBe('https://www.googleapis.com/auth/userinfo.email');
    expect(body.id_token).toBeUndefined();
    const { calendar } = googleCalendar(google.sim.url, 'rt-narrow');
    const err = (await calendar.events
      .list({ calendarId: 'primary' })
      .catch((e: unknown) => e)) as {
      status: number;
      response: { data: unknown };
    };
    expect(err.status).toBe(403);
    expect(err.response.data).toEqual({
      error: {
        code: 403,
        message: 'Request had insufficient authentication scopes.',
        errors: [
          {
            domain: 'global',
            reason: 'insufficientPermissions',
            message: 'Insufficient Permission',
          },
        ],
        status: 'PERMISSION_DENIED',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'ACCESS_TOKEN_SCOPE_INSUFFICIENT',
            domain: 'googleapis.com',
            metadata: {
              service: 'calendar-json.googleapis.com',
              method: 'calendar.v3.Events.List',
            },
          },
        ],
      },
    });
    // A read-only grant reads but cannot write.
    await google.ctl.createUser('ro@example.com', 'rt-ro', { scopes: CALSYNC_SCOPES });
    const ro = googleCalendar(google.sim.url, 'rt-ro').calendar;
    expect((await ro.events.list({ calendarId: 'primary' })).status).toBe(200);
    await expect(
      ro.events.insert({
        calendarId: 'primary',
        requestBody: { start: { date: '2025-01-01' }, end: { date: '2025-01-02' } },
      }),
    ).rejects.toMatchObject({ status: 403 });
  });

  it('invalid_grant variants: revoked, "Bad Request", invalid_rapt; unknown tokens; the client rejects with invalid_grant', async () => {
    const unknown = await refresh(google.sim, 'nope');
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({
      error: 'invalid_grant',
      error_description: 'Token has been expired or revoked.',
    });
    await google.ctl.createUser('o@example.com', 'rt-o2');
    await google.ctl.createUser('o@example.com', 'rt-o3');
    await google.ctl.failGrant('o@example.com', 'bad_request', 'rt-o2');
    await google.ctl.failGrant('o@example.com', 'invalid_rapt', 'rt-o3');
    expect(await (await refresh(google.sim, 'rt-o2')).json()).toEqual({
      error: 'invalid_grant',
      error_description: 'Bad Request',
    });
    expect(await (await refresh(google.sim, 'rt-o3')).json()).toEqual({
      error: 'invalid_grant',
      error_description: 'reauth related error (invalid_rapt)',
      error_uri: 'https://support.google.com/a/answer/9368756',
      error_subtype: 'invalid_rapt',
    });
    // The first grant is untouched; revoking the user kills every grant.
    expect((await refresh(google.sim, 'rt-o')).status).toBe(200);
    await google.ctl.revoke('o@example.com');
    const { calendar } = googleCalendar(google.sim.url, 'rt-o');
    await expect(calendar.events.list({ calendarId: 'primary' })).rejects.toMatchObject({
      status: 400,
      message: 'invalid_grant',
    });
  });

  it('apps in "testing" status: refresh tokens expire 7 days after issue (simulated clock)', async () => {
    await google.ctl.setOAuthPublishingStatus('testing');
    await google.ctl.createUser('t@example.com', 'rt-t');
    await google.ctl.advanceClock(7 * 24 * 3600_000 - 60_000);
    expect((await refresh(google.sim, 'rt-t')).status).toBe(200);
    await google.ctl.advanceClock(60_000);
    const res = await refresh(google.sim, 'rt-t');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'invalid_grant',
      error_description: 'Token has been expired or revoked.',
    });
    // Issued before the switch: no expiry. Per grant: refreshTokenTtlSeconds.
    expect((await refresh(google.sim, 'rt-o')).status).toBe(200);
    await google.ctl.createUser('o@example.com', 'rt-short', { refreshTokenTtlSeconds: 60 });
    await google.ctl.advanceClock(61_000);
    expect((await refresh(google.sim, 'rt-short')).status).toBe(400);
  });

  it('POST /revoke ends the grant (refresh or access token); unknown tokens get {error, error_description}', async () => {
    // Through google-auth-library: revokeToken POSTs ?token=… to its oauth2RevokeUrl.
    const client = new OAuth2Client({
      clientId: 'calsync-test-client',
      clientSecret: 'calsync-test-secret',
      endpoints: {
        oauth2TokenUrl: google.sim.tokenUrl,
        oauth2RevokeUrl: `${google.sim.url}/revoke`,
      },
    });
    const r = await client.revokeToken('rt-o');
    expect(r.status).toBe(200);
    expect((await refresh(google.sim, 'rt-o')).status).toBe(400);
    const again = await fetch(`${google.sim.url}/revoke`, form({ token: 'rt-o' }));
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual({
      error: 'invalid_token',
      error_description: 'Token expired or revoked',
    });
    // Revoking an access token revokes its grant.
    await google.ctl.createUser('o@example.com', 'rt-o4');
    const access = await google.ctl.accessToken('rt-o4');
    expect((await fetch(`${google.sim.url}/revoke`, form({ token: access }))).status).toBe(200);
    expect((await refresh(google.sim, 'rt-o4')).status).toBe(400);
    const api = await fetch(`${google.sim.url}/calendar/v3/calendars/primary/events`, {
      headers: { Authorization: `Bearer ${access}` },
    });
    expect(api.status).toBe(401);
  });

  it('tokeninfo and userinfo answer sub and email; two Google accounts stay apart', async () => {
    await google.ctl.createUser('b@example.com', 'rt-b');
    const a = await google.ctl.accessToken('rt-o');
    const b = await google.ctl.accessToken('rt-b');
    const subA = (await google.ctl.user('o@example.com')).sub;
    const subB = (await google.ctl.user('b@example.com')).sub;
    expect(subA).not.toBe(subB);
    const info = await fetch(`${google.sim.url}/tokeninfo?access_token=${a}`);
    expect(info.status).toBe(200);
    const infoBody = (await info.json()) as Record<string, string>;
    expect(infoBody).toMatchObject({
      azp: 'calsync-test-client',
      aud: 'calsync-test-client',
      sub: subA,
      scope: CALSYNC_SCOPES.join(' '),
      email: 'o@example.com',
      email_verified: 'true',
      access_type: 'offline',
    });
    expect(Number(infoBody.expires_in)).toBeGreaterThan(3500);
    // google-auth-library's getTokenInfo (POST with the token as Bearer).
    const lib = new OAuth2Client({ endpoints: { tokenInfoUrl: `${google.sim.url}/tokeninfo` } });
    expect(await lib.getTokenInfo(b)).toMatchObject({ sub: subB, email: 'b@example.com' });
    const bad = await fetch(`${google.sim.url}/tokeninfo?access_token=nope`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      error: 'invalid_token',
      error_description: 'Invalid Value',
    });
    for (const [token, sub, email] of [
      [a, subA, 'o@example.com'],
      [b, subB, 'b@example.com'],
    ]) {
      const u = await fetch(`${google.sim.url}/v1/userinfo`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      expect(await u.json()).toEqual({ sub, email, email_verified: true });
    }
    expect((await fetch(`${google.sim.url}/v1/userinfo`)).status).toBe(401);
    // The id_token's sub is the account's, not the email.
    const idToken = ((await (await refresh(google.sim, 'rt-b')).json()) as { id_token: string })
      .id_token;
    expect(claimsOf(idToken)).toMatchObject({ sub: subB, email: 'b@example.com' });
    // One refresh token belongs to one account.
    await expect(google.ctl.createUser('b@example.com', 'rt-o')).rejects.toThrow(/already belongs/);
  });

  it('a wrong client is 401 invalid_client', async () => {
    const res = await fetch(
      google.sim.tokenUrl,
      form({
        grant_type: 'refresh_token',
        refresh_token: 'rt-o',
        client_id: 'calsync-test-client',
        client_secret: 'wrong',
      }),
    );
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_client');
  });

  it('API calls without a valid bearer token get the 401 authError body', async () => {
    const url = `${google.sim.url}/calendar/v3/calendars/primary/events`;
    for (const headers of [{}, { Authorization: 'Bearer not-a-token' }] as Record<
      string,
      string
    >[]) {
      const res = await fetch(url, { headers });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual(AUTH_ERROR);
    }
  });

  it('access tokens expire on the simulated clock: the 401 surfaces unless the client refreshes on failure', async () => {
    const plain = googleCalendar(google.sim.url, 'rt-o');
    const forcing = googleCalendar(google.sim.url, 'rt-o', { forceRefreshOnFailure: true });
    await plain.calendar.events.list({ calendarId: 'primary' });
    await forcing.calendar.events.list({ calendarId: 'primary' });
    await google.ctl.advanceClock(3601_000);
    // The client still thinks its token is fresh (its own clock): the call gets Google's 401.
    await expect(plain.calendar.events.list({ calendarId: 'primary' })).rejects.toMatchObject({
      status: 401,
      response: { data: AUTH_ERROR },
    });
    // With forceRefreshOnFailure the client refreshes via /token and replays.
    expect((await forcing.calendar.events.list({ calendarId: 'primary' })).status).toBe(200);
    const tokenCalls = (await google.ctl.requests()).filter((r) => r.path === '/token');
    expect(tokenCalls.length).toBe(3);
  });
});
