// Structured logging: one JSON line per entry in Cloud Logging's format, with secrets redacted inside the logger.
export type Severity = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  /** A logger whose every line carries `fields` too (e.g. subscriptionId, messageId). */
  child(fields: Fields): Logger;
}

const ORDER: Record<Severity, number> = { DEBUG: 0, INFO: 1, WARNING: 2, ERROR: 3 };
export const REDACTED = '[REDACTED]';

/** Field names whose values are secrets wherever they appear (case-insensitive, any depth). */
const SECRET_KEY =
  /(token|secret|authorization|password|passwd|cookie|credential|api[-_]?key|private[-_]?key|refresh|signature|^key$|^mac$)/i;
/** Field names that match SECRET_KEY but are known to be harmless. */
const SAFE_KEYS = new Set(['tokenKeyId', 'keyId', 'hasSyncToken', 'tokenStatus']);

/** Secret-looking substrings inside otherwise harmless strings. */
const SECRET_PATTERNS: readonly RegExp[] = [
  /\bBearer\s+[A-Za-z0-9._~+/=-]+/gi, // Authorization header values
  /\bya29\.[A-Za-z0-9._-]+/g, // Google access tokens
  /\b1\/\/[A-Za-z0-9._-]{10,}/g, // Google refresh tokens
  /\bv1\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}/g, // calsync channel tokens (v1)
  /\bv2\.[A-Za-z0-9_-]{4,}\.\d{1,12}\.[A-Za-z0-9_-]{20,}/g, // calsync channel tokens (v2)
  /((?:access_token|refresh_token|client_secret|token)=)[^&\s"]+/gi, // form / query parameters
];

/**
 * How many run-time secrets (tokens seen while working) the logger remembers. Each log line scans
 * every remembered value, so the set is bounded: the oldest is forgotten first. Tokens in Google's
 * own shapes are caught by SECRET_PATTERNS and are not remembered at all.
 */
export const MAX_RUNTIME_SECRETS = 128;
/** Configuration secrets (pinned) are few; the cap only guards against a caller in a loop. */
export const MAX_PINNED_SECRETS = 32;

/** Configuration secrets: never forgotten (up to MAX_PINNED_SECRETS, oldest first out beyond). */
const pinnedSecrets = new Set<string>();
/** Run-time secrets, in insertion order (a Set iterates oldest first): a bounded LRU. */
const runtimeSecrets = new Set<string>();

function secretText(value: string | Buffer | undefined): string | undefined {
  if (value === undefined) return undefined;
  const s = Buffer.isBuffer(value) ? value.toString('utf8') : value;
  return s.length >= 8 ? s : undefined;
}

/** True when a pattern already redacts the whole value wherever it appears. */
function caughtByPattern(s: string): boolean {
  return SECRET_PATTERNS.some((p) => {
    p.lastIndex = 0;
    const m = p.exec(s);
    p.lastIndex = 0;
    return m !== null && m.index === 0 && m[0].length === s.length;
  });
}

function remember(set: Set<string>, s: string, max: number): void {
  set.delete(s); // re-inserting moves it to the young end
  set.add(s);
  while (set.size > max) set.delete(set.values().next().value as string);
}

/**
 * Registers a secret seen at run time (a refresh or access token): any occurrence in a later log
 * line is replaced by [REDACTED]. Bounded (MAX_RUNTIME_SECRETS, oldest forgotten first); values in
 * a shape SECRET_PATTERNS already catches are not stored.
 */
export function registerSecret(value: string | Buffer | undefined): void {
  const s = secretText(value);
  if (s === undefined || pinnedSecrets.has(s) || caughtByPattern(s)) return;
  remember(runtimeSecrets, s, MAX_RUNTIME_SECRETS);
}

/** Registers a configuration secret (channel secret, token key, OAuth client secret): never forgotten. */
export function pinSecret(value: string | Buffer | undefined): void {
  const s = secretText(value);
  if (s === undefined) return;
  runtimeSecrets.delete(s);
  remember(pinnedSecrets, s, MAX_PINNED_SECRETS);
}

/** How many exact values the logger scans each line for (tests: the set stays bounded). */
export function knownSecretCount(): { pinned: number; runtime: number } {
  return { pinned: pinnedSecrets.size, runtime: runtimeSecrets.size };
}

export function redactString(input: string): string {
  let out = input;
  for (const set of [pinnedSecrets, runtimeSecrets]) {
    for (const secret of set) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
  }
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (match: string, prefix?: unknown) =>
      typeof prefix === 'string' && match.startsWith(prefix) ? `${prefix}${REDACTED}` : REDACTED,
    );
  }
  return out;
}

/** Makes any value JSON-safe and secret-free; errors keep name, message, code/status and reason. */
export function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value === 'string') return redactString(value);
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (Buffer.isBuffer(value)) return REDACTED; // raw bytes are keys more often than not
  if (value instanceof Date) return value.toISOString();
  if (depth > 8) return '[depth]';
  if (typeof value === 'object') {
    if (seen.has(value)) return '[circular]';
    seen.add(value);
    if (value instanceof Error) return redactError(value, depth, seen);
    if (Array.isArray(value)) return value.slice(0, 100).map((v) => redact(v, depth + 1, seen));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] =
        SECRET_KEY.test(k) && !SAFE_KEYS.has(k) && v !== null && v !== undefined && v !== ''
          ? REDACTED
          : redact(v, depth + 1, seen);
    }
    return out;
  }
  return undefined;
}

function redactError(err: Error, depth: number, seen: WeakSet<object>): Record<string, unknown> {
  // Only a few known-safe properties: a GaxiosError carries the request config, Authorization included.
  const e = err as Error & { code?: unknown; status?: unknown; reason?: unknown; cause?: unknown };
  const out: Record<string, unknown> = { name: err.name, message: redactString(err.message) };
  if (typeof e.code === 'string' || typeof e.code === 'number') out.code = e.code;
  if (typeof e.status === 'number') out.status = e.status;
  if (typeof e.reason === 'string') out.reason = redactString(e.reason);
  if (err.stack) out.stack = redactString(err.stack);
  if (e.cause !== undefined) out.cause = redact(e.cause, depth + 1, seen);
  return out;
}

export interface LoggerOptions {
  level?: Severity;
  /** Where lines go; defaults to stdout (Cloud Functions forwards it to Cloud Logging). */
  write?: (line: string) => void;
  base?: Fields;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const min = ORDER[options.level ?? 'INFO'];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const base = options.base ?? {};

  const emit = (severity: Severity, message: string, fields?: Fields) => {
    if (ORDER[severity] < min) return;
    const body = redact({ ...base, ...fields }) as Record<string, unknown>;
    const entry = {
      severity,
      message: redactString(message),
      time: new Date().toISOString(),
      ...body,
    };
    let line: string;
    try {
      line = JSON.stringify(entry);
    } catch {
      line = JSON.stringify({
        severity,
        message: redactString(message),
        note: 'fields not serialisable',
      });
    }
    write(line);
  };

  return {
    debug: (m, f) => emit('DEBUG', m, f),
    info: (m, f) => emit('INFO', m, f),
    warn: (m, f) => emit('WARNING', m, f),
    error: (m, f) => emit('ERROR', m, f),
    child: (fields) => createLogger({ ...options, base: { ...base, ...fields } }),
  };
}

function levelFromEnv(): Severity {
  const v = process.env.CALSYNC_LOG_LEVEL;
  return v === 'DEBUG' || v === 'INFO' || v === 'WARNING' || v === 'ERROR' ? v : 'INFO';
}

/** The process-wide logger. */
export const log: Logger = createLogger({ level: levelFromEnv() });
