// An HTTP/2 (h2c) proxy in front of a gRPC emulator: per-call latency, and holding one chosen call (e.g. a Firestore Commit) until the test releases it.
//
// The property test gives each "lane" (one Firestore client of one worker) its own proxy, so a
// single worker's traffic can be stalled while the others go on: a Commit held here has not
// reached the emulator yet, and lands when released — exactly a write that outlives its lease.
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';

const {
  HTTP2_HEADER_METHOD,
  HTTP2_HEADER_PATH,
  HTTP2_HEADER_SCHEME,
  HTTP2_HEADER_AUTHORITY,
  HTTP2_HEADER_STATUS,
} = http2.constants;

/** A call caught by `holdNext`: it waits (not forwarded) until released or dropped. */
export interface HeldCall {
  /** The gRPC method path, e.g. `/google.firestore.v1.Firestore/Commit`. */
  readonly method: string;
  /** Forwards the call now. */
  release(): void;
  /** Never forwards it: the stream is left open and silent (a process that died mid-call). */
  abandon(): void;
}

export interface HoldHandle {
  /** Resolves with the call once one matching call arrived (never, if none does). */
  readonly caught: Promise<HeldCall>;
  /** Whether a call was caught. */
  readonly engaged: boolean;
  /** Stops waiting for a call (an uncaught hold is cancelled; a caught one is released). */
  cancel(): void;
}

export interface GrpcProxy {
  /** `127.0.0.1:PORT` — what FIRESTORE_EMULATOR_HOST would be for a client behind this proxy. */
  readonly host: string;
  /** Delay before each call is forwarded (ms), drawn by the caller's own seeded random. */
  latency: (method: string) => number;
  /** Catches the next call whose method matches. */
  holdNext(match: (method: string) => boolean): HoldHandle;
  /** Calls forwarded so far, per method. */
  readonly counts: Map<string, number>;
  close(): Promise<void>;
}

interface Waiter {
  match: (method: string) => boolean;
  resolve: (call: HeldCall) => void;
  engaged: boolean;
  cancelled: boolean;
}

/** Starts a proxy forwarding to `target` (`host:port`, plaintext HTTP/2 as the emulators speak). */
export async function startGrpcProxy(target: string): Promise<GrpcProxy> {
  let upstream: http2.ClientHttp2Session | undefined;
  const session = (): http2.ClientHttp2Session => {
    if (!upstream || upstream.closed || upstream.destroyed) {
      upstream = http2.connect(`http://${target}`);
      upstream.on('error', () => undefined);
      upstream.unref();
    }
    return upstream;
  };
  const waiters: Waiter[] = [];
  const abandoned = new Set<http2.ServerHttp2Stream>();
  const counts = new Map<string, number>();
  const server = http2.createServer();
  const proxy: GrpcProxy = {
    host: '',
    latency: () => 0,
    counts,
    holdNext(match) {
      let resolve!: (c: HeldCall) => void;
      const caught = new Promise<HeldCall>((r) => (resolve = r));
      const w: Waiter = { match, resolve, engaged: false, cancelled: false };
      waiters.push(w);
      let call: HeldCall | undefined;
      void caught.then((c) => (call = c));
      return {
        caught,
        get engaged() {
          return w.engaged;
        },
        cancel() {
          w.cancelled = true;
          const i = waiters.indexOf(w);
          if (i >= 0) waiters.splice(i, 1);
          call?.release();
        },
      };
    },
    async close() {
      for (const s of abandoned) s.destroy();
      await new Promise<void>((r) => {
        server.close(() => r());
        upstream?.close();
      });
    },
  };

  server.on('stream', (stream, headers) => {
    const method = String(headers[HTTP2_HEADER_PATH] ?? '');
    stream.on('error', () => undefined);
    // Buffer what the client sends while the call waits.
    stream.pause();
    const forward = () => {
      if (stream.destroyed || stream.closed) return;
      counts.set(method, (counts.get(method) ?? 0) + 1);
      const out: http2.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(headers)) {
        if (k.startsWith(':') && k !== HTTP2_HEADER_METHOD && k !== HTTP2_HEADER_PATH) continue;
        if (k === 'connection' || k === 'keep-alive' || k === 'upgrade') continue;
        out[k] = v;
      }
      out[HTTP2_HEADER_SCHEME] = 'http';
      out[HTTP2_HEADER_AUTHORITY] = target;
      let up: http2.ClientHttp2Stream;
      try {
        up = session().request(out, { endStream: false });
      } catch {
        stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        return;
      }
      up.on('error', () => {
        if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      });
      stream.on('close', () => {
        if (!up.destroyed) up.close(http2.constants.NGHTTP2_CANCEL);
      });
      let trailers: http2.OutgoingHttpHeaders | undefined;
      up.on('response', (h, flags) => {
        const resp: http2.OutgoingHttpHeaders = {};
        for (const [k, v] of Object.entries(h)) {
          if (k.startsWith(':') && k !== HTTP2_HEADER_STATUS) continue;
          resp[k] = v;
        }
        // A trailers-only answer (an error with no body) ends the stream with its headers.
        const endStream = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
        if (stream.destroyed) return;
        if (endStream) stream.respond(resp, { endStream: true });
        else {
          stream.respond(resp, { waitForTrailers: true });
          stream.on('wantTrailers', () => stream.sendTrailers(trailers ?? {}));
          up.pipe(stream);
        }
      });
      up.on('trailers', (t: http2.IncomingHttpHeaders) => {
        const out: http2.OutgoingHttpHeaders = {};
        for (const [k, v] of Object.entries(t)) if (!k.startsWith(':')) out[k] = v;
        trailers = out;
      });
      stream.pipe(up);
      stream.resume();
    };
    const gate = () => {
      const w = waiters.find((x) => !x.cancelled && x.match(method));
      if (!w) {
        forward();
        return;
      }
      waiters.splice(waiters.indexOf(w), 1);
      w.engaged = true;
      let done = false;
      w.resolve({
        method,
        release: () => {
          if (done) return;
          done = true;
          forward();
        },
        abandon: () => {
          if (done) return;
          done = true;
          abandoned.add(stream);
        },
      });
    };
    const delay = proxy.latency(method);
    if (delay > 0) setTimeout(gate, delay);
    else gate();
  });

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  (proxy as { host: string }).host = `127.0.0.1:${port}`;
  return proxy;
}
