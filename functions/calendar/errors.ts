// Google API error classification: turns a GaxiosError (or any throwable) into one kind calsync acts on.

export type GoogleErrorKind =
  | 'unauthorized'
  | 'invalid_grant'
  | 'rate_limited'
  | 'transient'
  | 'sync_token_invalid'
  | 'not_found'
  | 'push_unsupported'
  | 'bad_request'
  /** 403 that no retry fixes: `forbidden`, domain policy (an administrator blocked the app), … */
  | 'forbidden'
  /** 403 `insufficientPermissions`: the user granted fewer scopes than calsync needs. */
  | 'insufficient_scope'
  | 'aborted'
  | 'other';

export interface GoogleErrorInfo {
  kind: GoogleErrorKind;
  /** HTTP status when there was a response. */
  status: number | undefined;
  /** Google's `error.errors[0].reason`, or the OAuth `error` code (e.g. `invalid_grant`). */
  reason: string | undefined;
  /** Short, secret-free text for logs and `lastError.reason`. */
  message: string;
}

/** Error thrown by CalendarApi methods: the original error classified once. */
export class CalendarError extends Error {
  readonly kind: GoogleErrorKind;
  readonly status: number | undefined;
  readonly reason: string | undefined;

  constructor(info: GoogleErrorInfo, options?: { cause?: unknown }) {
    super(info.message, options);
    this.name = 'CalendarError';
    this.kind = info.kind;
    this.status = info.status;
    this.reason = info.reason;
  }
}

const RATE_LIMIT_REASONS = new Set([
  'rateLimitExceeded',
  'userRateLimitExceeded',
  'quotaExceeded',
  'dailyLimitExceeded',
]);
const PUSH_UNSUPPORTED_REASONS = new Set([
  'pushNotSupportedForRequestedResource',
  'push.webhookUrlNotHttps',
  'push.webhookUrlUnauthorized',
]);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  status?: unknown;
  cause?: unknown;
  response?: { status?: unknown; data?: unknown };
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)
    : undefined;
}

/** Reads `{error: {errors: [{reason, location}], message}}` or the OAuth `{error, error_description}`. */
function bodyDetails(data: unknown): { reason?: string; location?: string; message?: string } {
  let body = data;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body) as unknown;
    } catch {
      return {};
    }
  }
  const error = asRecord(body)?.error;
  if (typeof error === 'string') {
    const description = asRecord(body)?.error_description;
    return {
      reason: error,
      message: typeof description === 'string' ? description : error,
    };
  }
  const e = asRecord(error);
  if (!e) return {};
  const first = Array.isArray(e.errors) ? asRecord(e.errors[0]) : undefined;
  return {
    reason: typeof first?.reason === 'string' ? first.reason : undefined,
    location: typeof first?.location === 'string' ? first.location : undefined,
    message:
      typeof first?.message === 'string'
        ? first.message
        : typeof e.message === 'string'
          ? e.message
          : undefined,
  };
}

function isAbort(err: ErrorLike): boolean {
  return err.name === 'AbortError' || err.code === 'ABORT_ERR' || err.name === 'TimeoutError';
}

/**
 * Classifies an error from the Calendar API or the OAuth token endpoint. Matches status and
 * `reason`, never the human text — except the 400 "Invalid sync token value.", whose only
 * distinguishing mark is its wording or the `syncToken` location.
 */
export function classifyGoogleError(err: unknown): GoogleErrorInfo {
  if (err instanceof CalendarError) {
    return { kind: err.kind, status: err.status, reason: err.reason, message: err.message };
  }
  const e = (asRecord(err) ?? {}) as ErrorLike;
  const rawStatus = e.response?.status ?? e.status;
  const status = typeof rawStatus === 'number' ? rawStatus : undefined;
  const details = bodyDetails(e.response?.data);
  const text = typeof e.message === 'string' ? e.message : String(err);
  const reason = details.reason;
  const message = shorten(details.message ?? text);
  const info = (kind: GoogleErrorKind): GoogleErrorInfo => ({ kind, status, reason, message });

  if (reason === 'invalid_grant' || (status === undefined && /\binvalid_grant\b/.test(text))) {
    return info('invalid_grant');
  }
  if (status === undefined) {
    if (isAbort(e)) return info(e.name === 'TimeoutError' ? 'transient' : 'aborted');
    const code = typeof e.code === 'string' ? e.code : undefined;
    const causeCode = asRecord(e.cause)?.code;
    if (
      (code && NETWORK_CODES.has(code)) ||
      (typeof causeCode === 'string' && NETWORK_CODES.has(causeCode)) ||
      /fetch failed|socket hang up|network|timeout/i.test(text)
    ) {
      return info('transient');
    }
    return info('other');
  }
  if (status === 401) return info('unauthorized');
  if (status === 410) return info('sync_token_invalid');
  if (status === 404) return info('not_found');
  if (status === 429) return info('rate_limited');
  if (status === 408 || status >= 500) return info('transient');
  if (status === 403) {
    if (reason && RATE_LIMIT_REASONS.has(reason)) return info('rate_limited');
    if (reason && PUSH_UNSUPPORTED_REASONS.has(reason)) return info('push_unsupported');
    // Scopes: "Request had insufficient authentication scopes." (reason insufficientPermissions,
    // status PERMISSION_DENIED) — https://developers.google.com/workspace/calendar/api/guides/errors
    if (reason === 'insufficientPermissions' || reason === 'ACCESS_TOKEN_SCOPE_INSUFFICIENT') {
      return info('insufficient_scope');
    }
    // Every other 403 is an answer a retry would get again (forbidden, domainPolicy,
    // requiredAccessLevel, accessNotConfigured, …): permanent (DESIGN "Errors from Google").
    return info('forbidden');
  }
  if (status === 400) {
    if (
      details.location === 'syncToken' ||
      /invalid sync token/i.test(details.message ?? '') ||
      /invalid sync token/i.test(text)
    ) {
      return info('sync_token_invalid');
    }
    if (reason && PUSH_UNSUPPORTED_REASONS.has(reason)) return info('push_unsupported');
    return info('bad_request');
  }
  return info('other');
}

/** Answers a retry would get again: recorded, acknowledged, retried only by the scheduled backoff. */
export function isPermanent(kind: GoogleErrorKind): boolean {
  return kind === 'forbidden' || kind === 'bad_request' || kind === 'push_unsupported';
}

/** Kinds worth retrying after a pause (within the per-message budget). */
export function isRetryable(kind: GoogleErrorKind): boolean {
  return kind === 'rate_limited' || kind === 'transient';
}

function shorten(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 200 ? `${oneLine.slice(0, 197)}...` : oneLine;
}
