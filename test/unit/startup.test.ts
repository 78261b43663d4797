// A deployed target with a bad environment refuses to start, naming each bad variable and no secret.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../functions/config.js';
import { createLogger } from '../../functions/log.js';
import { validateTargetConfig } from '../../functions/startup.js';

const secret = 's'.repeat(40);

function run(env: Record<string, string>) {
  const lines: string[] = [];
  const logger = createLogger({ write: (l) => lines.push(l) });
  let error: unknown;
  try {
    validateTargetConfig(env, logger);
  } catch (e) {
    error = e;
  }
  return { error, lines };
}

describe('validateTargetConfig', () => {
  it('passes a complete webhook environment', () => {
    const { error, lines } = run({
      FUNCTION_TARGET: 'webhook',
      GOOGLE_CLOUD_PROJECT: 'calsync-prod',
      CALSYNC_CHANNEL_SECRET: secret,
    });
    expect(error).toBeUndefined();
    expect(lines).toEqual([]);
  });

  it('stops the worker when its token key and OAuth client are missing', () => {
    const { error, lines } = run({
      FUNCTION_TARGET: 'syncWorker',
      GOOGLE_CLOUD_PROJECT: 'calsync-prod',
      CALSYNC_CHANNEL_SECRET: secret,
    });
    expect(error).toBeInstanceOf(ConfigError);
    const entry = JSON.parse(lines[0]!) as { severity: string; problems: string[] };
    expect(entry.severity).toBe('ERROR');
    expect(entry.problems.join(' ')).toContain('CALSYNC_TOKEN_KEY');
    expect(entry.problems.join(' ')).toContain('GOOGLE_OAUTH_CLIENT_ID');
  });

  it('never logs the secret it rejects', () => {
    const { error, lines } = run({
      FUNCTION_TARGET: 'webhook',
      GOOGLE_CLOUD_PROJECT: 'calsync-prod',
      CALSYNC_CHANNEL_SECRET: 'too-short-secret',
    });
    expect(error).toBeInstanceOf(ConfigError);
    expect(lines.join('\n')).not.toContain('too-short-secret');
  });

  it('does nothing outside a known target (tests, the CLI)', () => {
    expect(run({}).error).toBeUndefined();
    expect(run({ FUNCTION_TARGET: 'other' }).error).toBeUndefined();
  });
});
