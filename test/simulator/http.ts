// HTTP plumbing shared by routes: request context, JSON/form body parsing, response writing.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, errors } from './errors.js';

export const MAX_BODY_BYTES = 1024 * 1024;

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY_BYTES) throw errors.badRequest('Request too large');
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parse a JSON object body; '' is an empty object. Google answers 400 parseError for bad JSON. */
export function parseJsonObject(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new ApiError(400, { domain: 'global', reason: 'parseError', message: 'Parse Error' });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ApiError(400, { domain: 'global', reason: 'parseError', message: 'Parse Error' });
  }
  return v as Record<string, unknown>;
}

export function send(res: ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = {
    'Cache-Control': 'no-cache, no-store, max-age=0, must-revalidate',
    Vary: 'Origin, X-Origin, Referer',
    Server: 'ESF',
    ...reply.headers,
  };
  if (reply.body === undefined || reply.status === 204) {
    res.writeHead(reply.status, headers);
    res.end();
    return;
  }
  // A string body is sent as it is (HTML error pages); anything else as Google's JSON.
  const raw = typeof reply.body === 'string';
  const text = raw ? (reply.body as string) : JSON.stringify(reply.body, null, 1);
  headers['Content-Type'] ??= raw ? 'text/html; charset=UTF-8' : 'application/json; charset=UTF-8';
  headers['Content-Length'] = String(Buffer.byteLength(text));
  res.writeHead(reply.status, headers);
  res.end(text);
}

export function errorReply(e: ApiError): Reply {
  if (e.html !== undefined) return { status: e.status, body: e.html, headers: e.headers };
  return { status: e.status, body: e.body(), headers: e.headers };
}

/** Query helpers: Google accepts repeated parameters (eventTypes, privateExtendedProperty). */
export class Query {
  constructor(readonly params: URLSearchParams) {}
  has(name: string): boolean {
    return this.params.has(name);
  }
  str(name: string): string | undefined {
    const v = this.params.get(name);
    return v === null ? undefined : v;
  }
  all(name: string): string[] {
    return this.params.getAll(name);
  }
  bool(name: string, dflt = false): boolean {
    const v = this.params.get(name);
    if (v === null) return dflt;
    if (v === 'true') return true;
    if (v === 'false') return false;
    throw errors.invalidParam(name);
  }
  int(name: string): number | undefined {
    const v = this.params.get(name);
    if (v === null) return undefined;
    if (!/^-?\d+$/.test(v)) throw errors.invalidParam(name);
    return Number(v);
  }
  toObject(): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (const k of new Set(this.params.keys())) {
      const all = this.params.getAll(k);
      out[k] = all.length === 1 ? all[0]! : all;
    }
    return out;
  }
}
