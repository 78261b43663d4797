// Conformance: POST /token refresh grant, access-token expiry on the simulated clock, revocation,
// and the 401 authError body for API calls without a valid bearer token.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { googleCalendar, SimulatorClient } from '../../simulator/client.js';
import { startSimulator, type Simulator } from '../../simulator/index.js';

function form(fields: Record<string, string>): RequestInit {
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  };
}

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

describe('OAuth', () => {
  let sim: Simulator;
  let ctl: SimulatorClient;

  beforeEach(async () => {
    sim = await startSimulator({ accessTokenTtlSeconds: 3600 });
    ctl = new SimulatorClient(sim.url);
    await ctl.createUser('o@example.com', 'rt-o');
  });
  afterEach(() => sim.close());

  it('refresh grant answers {access_token, expires_in, token_type: Bearer, scope}', async () => {
    const res = await fetch(
      sim.tokenUrl,
      form({
        grant_type: 'refresh_token',
        refresh_token: 'rt-o',
        client_id: 'calsync-test-client',
        client_secret: 'calsync-test-secret',
      }),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);
    expect(body.token_type).toBe('Bearer');
    expect(body.expires_in).toBe(3600);
    expect(body.scope).toContain('https://www.googleapis.com/auth/calendar');
  });

  it('unknown or revoked refresh token: 400 invalid_grant "Token has been expired or revoked."', async () => {
    const unknown = await fetch(
      sim.tokenUrl,
      form({
        grant_type: 'refresh_token',
        refresh_token: 'nope',
        client_id: 'calsync-test-client',
        client_secret: 'calsync-test-secret',
      }),
    );
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({
      error: 'invalid_grant',
      error_description: 'Token has been expired or revoked.',
    });
    // Through the real client: the refresh rejects with invalid_grant, status 400.
    await ctl.revoke('o@example.com');
    const { calendar } = googleCalendar(sim.url, 'rt-o');
    await expect(calendar.events.list({ calendarId: 'primary' })).rejects.toMatchObject({
      status: 400,
      message: 'invalid_grant',
    });
  });

  it('a wrong client is 401 invalid_client', async () => {
    const res = await fetch(
      sim.tokenUrl,
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
    const url = `${sim.url}/calendar/v3/calendars/primary/events`;
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
    const plain = googleCalendar(sim.url, 'rt-o');
    const forcing = googleCalendar(sim.url, 'rt-o', { forceRefreshOnFailure: true });
    await plain.calendar.events.list({ calendarId: 'primary' });
    await forcing.calendar.events.list({ calendarId: 'primary' });
    await ctl.advanceClock(3601_000);
    // The client still thinks its token is fresh (its own clock): the call gets Google's 401.
    await expect(plain.calendar.events.list({ calendarId: 'primary' })).rejects.toMatchObject({
      status: 401,
      response: { data: AUTH_ERROR },
    });
    // With forceRefreshOnFailure the client refreshes via /token and replays.
    expect((await forcing.calendar.events.list({ calendarId: 'primary' })).status).toBe(200);
    const tokenCalls = (await ctl.requests()).filter((r) => r.path === '/token');
    expect(tokenCalls.length).toBe(3);
  });
});
