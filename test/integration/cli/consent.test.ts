// Integration: the interactive consent flow on a loopback redirect, with a stand-in authorization server (PKCE, state check).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interactiveConsent } from '../../../functions/cli/oauth-flow.js';
import { CALSYNC_SCOPES } from '../../../functions/credentials/identity.js';

describe('interactive consent', () => {
  let server: http.Server;
  let tokenUrl: string;
  const seen: URLSearchParams[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        seen.push(form);
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(
          JSON.stringify({
            access_token: 'ya29.consent-access',
            refresh_token: '1//consent-refresh-token',
            expires_in: 3600,
            token_type: 'Bearer',
          }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('prints the URL, accepts the redirect with the right state, exchanges the code with its verifier', async () => {
    const printed: string[] = [];
    let resolveUrl: (u: string) => void = () => undefined;
    const urlSeen = new Promise<string>((r) => (resolveUrl = r));
    const flow = interactiveConsent({
      oauth: { clientId: 'cid', clientSecret: 'csecret', tokenUrl },
      scopes: CALSYNC_SCOPES,
      port: 0,
      authBaseUrl: 'https://accounts.example.com/auth',
      print: (line) => {
        printed.push(line);
        if (line.includes('accounts.example.com')) resolveUrl(line.trim());
      },
      timeoutMs: 10_000,
    });
    const auth = new URL(await urlSeen);
    // openid + email: the account's stable id (sub) and address come back with every refresh.
    expect(auth.searchParams.get('scope')).toBe(
      'openid email https://www.googleapis.com/auth/calendar.readonly',
    );
    expect(auth.searchParams.get('access_type')).toBe('offline');
    expect(auth.searchParams.get('code_challenge_method')).toBe('S256');
    const redirect = new URL(auth.searchParams.get('redirect_uri')!);
    expect(redirect.hostname).toBe('127.0.0.1');
    const wrong = await fetch(`${redirect}?code=c&state=forged`);
    expect(wrong.status).toBe(400);
    const ok = await fetch(`${redirect}?code=the-code&state=${auth.searchParams.get('state')}`);
    expect(ok.status).toBe(200);
    expect(await flow).toBe('1//consent-refresh-token');
    expect(seen[0]?.get('grant_type')).toBe('authorization_code');
    expect(seen[0]?.get('code')).toBe('the-code');
    expect(seen[0]?.get('code_verifier')).toBeTruthy();
    expect(printed.join('\n')).not.toContain('1//consent-refresh-token');
  });
});
