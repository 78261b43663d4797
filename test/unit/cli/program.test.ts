// Unit: the CLI's argv layer — flag validation and exit code 2 on misuse, help, and no token ever printed.
import { describe, expect, it } from 'vitest';
import { CalendarError } from '../../../functions/calendar/errors.js';
import type { BuiltDeps } from '../../../functions/cli/deps.js';
import { runCli } from '../../../functions/cli/program.js';

const TOKEN = '1//0gSECRET-refresh-token-value-abcdef';
const ENV = {
  GOOGLE_CLOUD_PROJECT: 'demo-cli-unit',
  CALSYNC_CHANNEL_SECRET: 'x'.repeat(40),
  CALSYNC_TOKEN_KEY: Buffer.alloc(32, 1).toString('base64'),
  GOOGLE_OAUTH_CLIENT_ID: 'client',
  GOOGLE_OAUTH_CLIENT_SECRET: 'client-secret-value',
  CALSYNC_WEBHOOK_URL: 'https://hooks.example.com/webhook',
};

async function run(
  argv: string[],
  opts: { env?: NodeJS.ProcessEnv; build?: () => BuiltDeps } = {},
) {
  let stdout = '';
  let stderr = '';
  let built = 0;
  const code = await runCli(argv, {
    env: opts.env ?? ENV,
    io: { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) },
    build:
      opts.build ??
      (() => {
        built++;
        throw new Error('no clients in unit tests');
      }),
    readStdin: async () => `${TOKEN}\n`,
  });
  return { code, stdout, stderr, built };
}

describe('calsync argv layer', () => {
  it.each([
    [[], /Usage: calsync/],
    [['frobnicate'], /unknown command/],
    [['connect', '--calendar', 'primary', '--refresh-token', TOKEN], /--user/],
    [['connect', '--user', 'alice', '--refresh-token', TOKEN], /--calendar/],
    [
      ['connect', '--user', 'a/b', '--calendar', 'primary', '--refresh-token', TOKEN],
      /--user must not contain/,
    ],
    [
      ['connect', '--user', 'alice', '--calendar', 'has space', '--refresh-token', TOKEN],
      /--calendar/,
    ],
    [
      ['connect', '--user', 'alice', '--calendar', 'primary', '--refresh-token', 'bad token\u0001'],
      /refresh-token/,
    ],
    [['connect', '--user', 'alice', '--calendar', 'primary', '--port', 'http'], /--port/],
    [['connect', '--user', 'alice', '--calendar', 'primary', '--bogus'], /unknown option/],
    [['disconnect', '--user', 'alice'], /exactly one of --calendar <id> or --all/],
    [['disconnect', '--user', 'alice', '--calendar', 'c', '--all'], /exactly one of/],
    [['resync', '--user', 'alice'], /--calendar/],
    [['status', 'extra'], /too many arguments|excess|unknown/i],
  ])('%j exits 2 with a message, before any client is built', async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.built).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });

  it('names the missing configuration variables and exits 2', async () => {
    const r = await run(['status'], { env: { GOOGLE_CLOUD_PROJECT: 'demo-x' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/CALSYNC_TOKEN_KEY is required/);
    expect(r.stderr).toMatch(/CALSYNC_WEBHOOK_URL is required/);
  });

  it('help exits 0 and lists every command', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['connect', 'disconnect', 'status', 'resync', 'renew'])
      expect(r.stdout).toContain(c);
    const sub = await run(['help', 'connect']);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain('--refresh-token');
  });

  it('never prints the refresh token, even when Google rejects it (exit 1)', async () => {
    const failing = (): BuiltDeps => ({
      deps: {
        calendarApi: () => ({
          getCalendar: () =>
            Promise.reject(
              new CalendarError({
                kind: 'invalid_grant',
                status: 400,
                reason: 'invalid_grant',
                message: `Token has been expired or revoked: ${TOKEN}`,
              }),
            ),
        }),
        config: { retryBudgetMs: 1 },
        progress: () => undefined,
      } as never,
      close: async () => undefined,
    });
    for (const argv of [
      ['connect', '--user', 'alice', '--calendar', 'primary', '--refresh-token', TOKEN],
      ['connect', '--user', 'alice', '--calendar', 'primary', '--refresh-token', '-'],
    ]) {
      const r = await run(argv, { build: failing });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/invalid_grant/);
      expect(r.stdout + r.stderr).not.toContain(TOKEN);
      expect(r.stdout + r.stderr).not.toContain('SECRET-refresh');
    }
  });
});
