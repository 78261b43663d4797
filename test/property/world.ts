// The world many histories share: a direct Firestore client for the checks, Firestore "lanes" behind gRPC proxies for the workers, and one webhook listener.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Firestore } from '@google-cloud/firestore';
import { startGrpcProxy, type GrpcProxy } from '../harness/grpc-proxy.js';

/** A Firestore client whose every call goes through its own proxy (latency, holds). */
export interface Lane {
  db: Firestore;
  proxy: GrpcProxy;
}

export interface PropertyWorld {
  /** Direct client: the harness's own reads (no latency, never held). */
  db: Firestore;
  projectId: string;
  /** Lane 0: shared by ordinary workers, renewal and the CLI. */
  shared: Lane;
  /** Lane 1: only for a worker whose writes are stalled (so nobody else's calls are caught). */
  stalled: Lane;
  webhookUrl: string;
  /** The running history's webhook handler. */
  route: { handle?: (req: http.IncomingMessage, bodyBytes: number) => Promise<number> };
  close(): Promise<void>;
}

/** A Firestore client for `projectId` that talks to the emulator through `proxy`. */
function clientBehind(proxy: GrpcProxy, projectId: string): Firestore {
  // The client reads FIRESTORE_EMULATOR_HOST once, in its constructor, and prefers it to settings.
  const saved = process.env.FIRESTORE_EMULATOR_HOST;
  process.env.FIRESTORE_EMULATOR_HOST = proxy.host;
  try {
    return new Firestore({ projectId, ignoreUndefinedProperties: true });
  } finally {
    process.env.FIRESTORE_EMULATOR_HOST = saved;
  }
}

async function openLane(emulatorHost: string, projectId: string): Promise<Lane> {
  const proxy = await startGrpcProxy(emulatorHost);
  const db = clientBehind(proxy, projectId);
  await db.doc('warmup/lane').get();
  return { db, proxy };
}

export async function createPropertyWorld(
  db: Firestore,
  projectId: string,
): Promise<PropertyWorld> {
  const emulatorHost = process.env.FIRESTORE_EMULATOR_HOST;
  if (!emulatorHost) throw new Error('FIRESTORE_EMULATOR_HOST is not set');
  const route: PropertyWorld['route'] = {};
  const server = http.createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      const handle = route.handle;
      if (!handle) {
        res.writeHead(410).end();
        return;
      }
      handle(req, bytes).then(
        (status) => res.writeHead(status).end(),
        () => res.writeHead(500).end(),
      );
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const webhookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`;
  const [shared, stalled] = await Promise.all([
    openLane(emulatorHost, projectId),
    openLane(emulatorHost, projectId),
  ]);
  return {
    db,
    projectId,
    shared,
    stalled,
    webhookUrl,
    route,
    async close() {
      await Promise.all([shared.db.terminate(), stalled.db.terminate()]);
      await Promise.all([shared.proxy.close(), stalled.proxy.close()]);
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    },
  };
}
