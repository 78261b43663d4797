// Unit: the renewChannels HTTP target rejects non-POST with 405 and answers 500 on bad configuration, without touching the cloud.
import { describe, expect, it } from 'vitest';
import { createRenewChannels } from '../../../functions/renewal/function.js';
import { createLogger } from '../../../functions/log.js';

function fakeRes() {
  const r = { status: 0, headers: {} as Record<string, string>, body: undefined as unknown };
  const res = {
    set: (k: string, v: string) => ((r.headers[k] = v), res),
    status: (s: number) => ((r.status = s), res),
    type: () => res,
    send: (b: unknown) => ((r.body = b), res),
    json: (b: unknown) => ((r.body = b), res),
  };
  return { r, res };
}

describe('renewChannels target', () => {
  const logger = createLogger({ write: () => undefined });
  it.each(['GET', 'PUT', 'DELETE'])('%s -> 405 with Allow: POST', async (method) => {
    const fn = createRenewChannels({ env: {}, logger });
    const { r, res } = fakeRes();
    await fn({ method } as never, res as never);
    expect(r.status).toBe(405);
    expect(r.headers.Allow).toBe('POST');
  });

  it('POST with invalid configuration -> 500, the problem logged', async () => {
    const lines: string[] = [];
    const fn = createRenewChannels({
      env: { GOOGLE_CLOUD_PROJECT: 'demo-x' },
      logger: createLogger({ write: (l) => lines.push(l) }),
    });
    const { r, res } = fakeRes();
    await fn({ method: 'POST' } as never, res as never);
    expect(r.status).toBe(500);
    expect(lines.join('\n')).toContain('CALSYNC_WEBHOOK_URL is required');
  });
});
