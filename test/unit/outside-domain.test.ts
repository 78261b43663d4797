// outsideRequestDomain: the work it starts runs outside the request's domain, and the domain is back for the caller.
import { create as createDomain } from 'node:domain';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { outsideRequestDomain } from '../../functions/outside-domain.js';

const activeDomain = () => (process as { domain?: unknown }).domain ?? undefined;

describe('outsideRequestDomain', () => {
  it('starts the work outside the active domain, after every await too, and re-enters it for the caller', async () => {
    const d = createDomain();
    const seen: unknown[] = [];
    const after: unknown[] = [];
    await d.run(async () => {
      const work = outsideRequestDomain(async () => {
        seen.push(activeDomain());
        await sleep(5);
        seen.push(activeDomain());
        await Promise.resolve();
        seen.push(activeDomain());
        return 'done';
      });
      after.push(activeDomain());
      expect(await work).toBe('done');
      after.push(activeDomain());
    });
    expect(seen).toEqual([undefined, undefined, undefined]);
    expect(after).toEqual([d, d]);
  });

  it('hands a rejection back to the caller and re-enters the domain after a synchronous throw', async () => {
    const d = createDomain();
    await d.run(async () => {
      await expect(
        outsideRequestDomain(async () => {
          await sleep(1);
          throw new Error('refused');
        }),
      ).rejects.toThrow('refused');
      expect(() =>
        outsideRequestDomain(() => {
          throw new Error('sync');
        }),
      ).toThrow('sync');
      expect(activeDomain()).toBe(d);
    });
  });

  it('runs the work as is when no domain is active', async () => {
    expect(activeDomain()).toBeUndefined();
    expect(await outsideRequestDomain(() => Promise.resolve(activeDomain()))).toBeUndefined();
  });

  it('functions-framework runs a request inside a domain (why this exists), and the helper leaves it', async () => {
    const { http } = await import('@google-cloud/functions-framework');
    const { getTestServer } = await import('@google-cloud/functions-framework/testing');
    http('outsideDomainProbe', async (_req, res) => {
      const framework = activeDomain() !== undefined;
      const inner = await outsideRequestDomain(async () => {
        await sleep(1);
        return activeDomain() !== undefined;
      });
      res.json({ framework, inner, back: activeDomain() !== undefined });
    });
    const server = getTestServer('outsideDomainProbe');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST' });
      expect(await res.json()).toEqual({ framework: true, inner: false, back: true });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
