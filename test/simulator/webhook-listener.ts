// Test helper: a real node:http listener on loopback that records push notifications it receives.
import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedNotification {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Status this listener answered with. */
  status: number;
}

export interface WebhookListener {
  url: string;
  received: ReceivedNotification[];
  /** Decide the status per notification (default 200). */
  respondWith(fn: (n: ReceivedNotification, index: number) => number): void;
  /** Resolves once `count` notifications arrived (rejects after timeoutMs). */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedNotification[]>;
  close(): Promise<void>;
}

export async function startWebhookListener(path = '/hook'): Promise<WebhookListener> {
  const received: ReceivedNotification[] = [];
  let decide: (n: ReceivedNotification, index: number) => number = () => 200;
  let waiters: { count: number; resolve: () => void }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n: ReceivedNotification = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        status: 0,
      };
      n.status = decide(n, received.length);
      received.push(n);
      res.writeHead(n.status).end();
      waiters = waiters.filter((w) => {
        if (received.length >= w.count) w.resolve();
        return received.length < w.count;
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    received,
    respondWith(fn) {
      decide = fn;
    },
    waitFor(count, timeoutMs = 5000) {
      if (received.length >= count) return Promise.resolve(received);
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`expected ${count} notifications, got ${received.length}`)),
          timeoutMs,
        );
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(t);
            resolve(received);
          },
        });
      });
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
