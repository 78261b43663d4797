// Seeded, reproducible randomness: a PRNG stream plus a stable hash for per-request decisions.

/** mulberry32: small, fast, good enough for test-fault decisions. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a 32-bit hash of a string, mixed with a seed. */
export function hash32(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A number in [0, 1) determined only by (seed, key): the same request gets the same answer. */
export function unitFor(key: string, seed: number): number {
  return mulberry32(hash32(key, seed))();
}

const BASE32HEX = '0123456789abcdefghijklmnopqrstuv';

export class SimRandom {
  private readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }
  /** Google event ids use base32hex lowercase characters (a-v, 0-9); generated ids are 26 long. */
  eventId(): string {
    let s = '';
    for (let i = 0; i < 26; i++) s += BASE32HEX[this.int(32)];
    return s;
  }
  token(len = 24): string {
    const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    let s = '';
    for (let i = 0; i < len; i++) s += chars[this.int(chars.length)];
    return s;
  }
}
