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
  /\bv1\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}/g, // calsync channel tokens
  /((?:access_token|refresh_token|client_secret|token)=)[^&\s"]+/gi, // form / query parameters
];

/** Exact secret values (configuration secrets, tokens seen at run time) that must never be printed. */
const knownSecrets = new Set<string>();

/** Registers a secret value: any occurrence in a later log line is replaced by [REDACTED]. */
export function registerSecret(value: string | Buffer | undefined): void {
  if (value === undefined) return;
  const s = Buffer.isBuffer(value) ? value.toString('utf8') : value;
  if (s.length >= 8) knownSecrets.add(s);
}

export function redactString(input: string): string {
  let out = input;
  for (const secret of knownSecrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
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
