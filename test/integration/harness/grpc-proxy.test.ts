// The gRPC proxy the property test stalls Firestore with: calls pass through untouched, and a held Commit lands only when released.
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGrpcProxy, type GrpcProxy } from '../../harness/grpc-proxy.js';
import { emulatorsMissing, uniqueProjectId, useEmulators } from '../../harness/env.js';

describe.skipIf(emulatorsMissing() !== '')('gRPC proxy in front of the Firestore emulator', () => {
  const projectId = uniqueProjectId('proxy');
  let proxy: GrpcProxy;
  let direct: Firestore;
  let proxied: Firestore;

  beforeAll(async () => {
    expect(useEmulators()).toBe(true);
    const host = process.env.FIRESTORE_EMULATOR_HOST!;
    proxy = await startGrpcProxy(host);
    direct = new Firestore({ projectId });
    process.env.FIRESTORE_EMULATOR_HOST = proxy.host;
    proxied = new Firestore({ projectId });
    process.env.FIRESTORE_EMULATOR_HOST = host;
  });
  afterAll(async () => {
    await proxied.terminate();
    await direct.terminate();
    await proxy.close();
  });

  it('passes reads, queries, aggregations, transactions and errors through', async () => {
    await proxied.doc('p/a').set({ n: 1 });
    expect((await direct.doc('p/a').get()).data()).toEqual({ n: 1 });
    expect((await proxied.collection('p').where('n', '==', 1).get()).size).toBe(1);
    expect((await proxied.collection('p').count().get()).data().count).toBe(1);
    await proxied.runTransaction(async (tx) => {
      const snap = await tx.get(proxied.doc('p/a'));
      tx.update(snap.ref, { n: (snap.get('n') as number) + 1 });
    });
    expect((await direct.doc('p/a').get()).get('n')).toBe(2);
    // A trailers-only gRPC error (NOT_FOUND) reaches the client with its code.
    await expect(proxied.doc('p/missing').update({ n: 1 })).rejects.toMatchObject({ code: 5 });
    expect(proxy.counts.get('/google.firestore.v1.Firestore/Commit')).toBeGreaterThan(0);
  });

  it('holds a Commit until released: the write lands only then', async () => {
    const hold = proxy.holdNext((m) => m.endsWith('/Commit'));
    const write = proxied.doc('p/held').set({ late: true });
    const call = await hold.caught;
    expect(call.method).toBe('/google.firestore.v1.Firestore/Commit');
    // Meanwhile other calls go through, and the held write has not reached the emulator.
    expect((await proxied.doc('p/a').get()).exists).toBe(true);
    expect((await direct.doc('p/held').get()).exists).toBe(false);
    call.release();
    await write;
    expect((await direct.doc('p/held').get()).data()).toEqual({ late: true });
  });
});
