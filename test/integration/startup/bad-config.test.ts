// Under functions-framework, a target whose environment is invalid does not start, and says why.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../harness/emulators.js';
import { spawnManaged } from '../../harness/processes.js';
import { buildFunctions, buildIsStale, REPO_ROOT } from '../../stack/local-stack.js';

describe('start-up configuration check', () => {
  it('refuses to serve syncWorker without its secrets, naming each missing variable', async () => {
    if (buildIsStale()) buildFunctions();
    const port = await freePort();
    const proc = spawnManaged(
      join(REPO_ROOT, 'node_modules', '.bin', 'functions-framework'),
      [
        '--target=syncWorker',
        '--signature-type=cloudevent',
        `--port=${port}`,
        `--source=${REPO_ROOT}`,
      ],
      {
        cwd: REPO_ROOT,
        env: {
          PATH: `${join(REPO_ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
          FUNCTION_TARGET: 'syncWorker',
          GOOGLE_CLOUD_PROJECT: 'calsync-prod',
          CALSYNC_CHANNEL_SECRET: 'short-secret-value',
        },
      },
    );
    const exit = await Promise.race([
      proc.exited,
      new Promise<'running'>((r) => setTimeout(() => r('running'), 30_000)),
    ]);
    await proc.stop();
    expect(exit).not.toBe('running');
    const out = proc.output();
    expect(out).toContain('CALSYNC_CHANNEL_SECRET must be at least 32 bytes');
    expect(out).toContain('CALSYNC_TOKEN_KEY is required');
    expect(out).toContain('GOOGLE_OAUTH_CLIENT_ID is required');
    expect(out).not.toContain('short-secret-value');
  });
});
