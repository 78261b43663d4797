// Interactive consent for `connect` without --refresh-token: google-auth-library's installed-app flow on a loopback redirect (PKCE).
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CodeChallengeMethod, OAuth2Client } from 'google-auth-library';
import type { OAuthClientConfig } from '../config.js';
import { registerSecret } from '../log.js';
import { CliError } from './errors.js';

export interface ConsentOptions {
  oauth: OAuthClientConfig;
  /** Scopes to ask for (calsync: openid email calendar.readonly). */
  scopes: readonly string[];
  /** Loopback port for the redirect (0 = any free port). */
  port: number;
  /** Where to tell the human which URL to open. */
  print: (line: string) => void;
  /** Authorization endpoint (default Google's). */
  authBaseUrl?: string;
  /** Give up after this long without an answer (default 5 minutes). */
  timeoutMs?: number;
}

/** Runs the consent flow and resolves with the refresh token Google issued. */
export async function interactiveConsent(o: ConsentOptions): Promise<string> {
  const state = randomBytes(16).toString('base64url');
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, '127.0.0.1', resolve);
  });
  try {
    const port = (server.address() as AddressInfo).port;
    const redirectUri = `http://127.0.0.1:${port}/oauth2callback`;
    const client = new OAuth2Client({
      clientId: o.oauth.clientId,
      clientSecret: o.oauth.clientSecret,
      redirectUri,
      endpoints: {
        oauth2TokenUrl: o.oauth.tokenUrl,
        ...(o.authBaseUrl ? { oauth2AuthBaseUrl: o.authBaseUrl } : {}),
      },
    });
    const { codeVerifier, codeChallenge } = await client.generateCodeVerifierAsync();
    const url = client.generateAuthUrl({
      access_type: 'offline',
      prompt: 'consent',
      scope: [...o.scopes],
      state,
      code_challenge_method: CodeChallengeMethod.S256,
      ...(codeChallenge ? { code_challenge: codeChallenge } : {}),
    });
    o.print('Open this URL in a browser and grant calsync read access to the calendar:');
    o.print(`  ${url}`);
    o.print(`Waiting for the redirect to ${redirectUri} ...`);
    const code = await waitForCode(server, state, o.timeoutMs ?? 5 * 60_000);
    const { tokens } = await client.getToken({ code, codeVerifier });
    if (!tokens.refresh_token) {
      throw new CliError(
        "Google issued no refresh token (remove calsync from the account's third-party access and try again)",
      );
    }
    registerSecret(tokens.refresh_token);
    registerSecret(tokens.access_token ?? undefined);
    return tokens.refresh_token;
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

function waitForCode(server: http.Server, state: string, timeoutMs: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new CliError('no answer from the browser in time')),
      timeoutMs,
    );
    server.on('request', (req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname !== '/oauth2callback') {
        res.writeHead(404).end();
        return;
      }
      const error = url.searchParams.get('error');
      const code = url.searchParams.get('code');
      if (url.searchParams.get('state') !== state) {
        res.writeHead(400, { 'Content-Type': 'text/plain' }).end('state mismatch\n');
        return;
      }
      clearTimeout(timer);
      if (error || !code) {
        res.writeHead(400, { 'Content-Type': 'text/plain' }).end('consent was not granted\n');
        reject(new CliError(`consent was not granted (${error ?? 'no code'})`));
        return;
      }
      res
        .writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' })
        .end('calsync is authorised. You can close this window.\n');
      resolve(code);
    });
  });
}
