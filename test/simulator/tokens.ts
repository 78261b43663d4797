// Opaque, tamper-evident page and sync tokens (HMAC-signed JSON), so garbage is told apart from stale.
import { createHash, createHmac, randomBytes } from 'node:crypto';

export class TokenCodec {
  private readonly secret: Buffer;

  /** With a seed, tokens (and so the seeded page shapes that hash them) repeat run after run. */
  constructor(seed?: number) {
    this.secret =
      seed === undefined
        ? randomBytes(32)
        : createHash('sha256').update(`sim-tokens|${seed}`).digest();
  }

  encode(kind: string, payload: object): string {
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${this.mac(kind, body)}`;
  }

  /** The payload, or undefined when the token is malformed, forged or of another kind. */
  decode<T>(kind: string, token: string): T | undefined {
    const dot = token.lastIndexOf('.');
    if (dot <= 0) return undefined;
    const body = token.slice(0, dot);
    if (token.slice(dot + 1) !== this.mac(kind, body)) return undefined;
    try {
      return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T;
    } catch {
      return undefined;
    }
  }

  private mac(kind: string, body: string): string {
    return createHmac('sha256', this.secret)
      .update(`${kind}|${body}`)
      .digest('base64url')
      .slice(0, 22);
  }
}
