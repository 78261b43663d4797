// Google API error bodies ({"error":{"errors":[...],"code","message"}}) and the ApiError thrown by handlers.
// Shapes: ../shared/docs/CALENDAR-API.md ("Errors and quotas"), fixtures northworld/403_*.json,
// northworld/404.json, northworld/410.json, compass/errors__*.json, and
// https://developers.google.com/calendar/api/guides/errors.

export interface GoogleErrorItem {
  domain: string;
  reason: string;
  message: string;
  locationType?: string;
  location?: string;
}

export interface GoogleErrorBody {
  error: {
    errors: GoogleErrorItem[];
    code: number;
    message: string;
    status?: string;
    details?: unknown[];
  };
}

/**
 * Newer Google answers add `status` (the google.rpc code name) and `details`, and may carry a
 * top-level message that differs from the item's (insufficientPermissions, quota errors).
 */
export interface ErrorEnvelope {
  message?: string;
  status?: string;
  details?: unknown[];
}

export class ApiError extends Error {
  /** When set, the answer is this HTML page instead of JSON (Google's front end on some 5xx). */
  html?: string;

  constructor(
    readonly status: number,
    readonly item: GoogleErrorItem,
    readonly headers: Record<string, string> = {},
    readonly envelope?: ErrorEnvelope,
  ) {
    super(envelope?.message ?? item.message);
  }

  body(): GoogleErrorBody {
    const e = this.envelope;
    if (!e)
      return { error: { errors: [this.item], code: this.status, message: this.item.message } };
    // Key order as in Google's newer bodies: code, message, errors, status, details.
    const error = {
      code: this.status,
      message: e.message ?? this.item.message,
      errors: [this.item],
    } as GoogleErrorBody['error'];
    if (e.status) error.status = e.status;
    if (e.details) error.details = e.details;
    return { error };
  }
}

/** Default domain/message for a reason, taken from recorded Google responses where we have one. */
const KNOWN: Record<string, { domain: string; message: string; status: number }> = {
  // northworld/403_user_rate_limit.json
  userRateLimitExceeded: {
    domain: 'usageLimits',
    message: 'User Rate Limit Exceeded',
    status: 403,
  },
  // northworld/403_rate_limit.json (403); the 429 form uses the same reason and domain
  rateLimitExceeded: { domain: 'usageLimits', message: 'Rate Limit Exceeded', status: 403 },
  // northworld/403_calendar_rate_limit.json
  quotaExceeded: { domain: 'usageLimits', message: 'Calendar usage limits exceeded.', status: 403 },
  // northworld/403_daily_limit.json
  dailyLimitExceeded: { domain: 'usageLimits', message: 'Daily Limit Exceeded', status: 403 },
  forbidden: { domain: 'global', message: 'Forbidden', status: 403 },
  // northworld/404.json
  notFound: { domain: 'global', message: 'Not Found', status: 404 },
  // northworld/409.json
  duplicate: { domain: 'global', message: 'The requested identifier already exists.', status: 409 },
  // northworld/410.json
  deleted: { domain: 'global', message: 'Resource has been deleted', status: 410 },
  // compass/errors__error.invalidSyncToken.json (literal text also in CALENDAR-API.md)
  fullSyncRequired: {
    domain: 'calendar',
    message: 'Sync token is no longer valid, a full sync is required.',
    status: 410,
  },
  // compass/errors__error.google.invalidValue.json
  invalid: { domain: 'global', message: 'Invalid Value', status: 400 },
  required: { domain: 'global', message: 'Required', status: 400 },
  badRequest: { domain: 'global', message: 'Bad Request', status: 400 },
  conditionNotMet: { domain: 'global', message: 'Precondition Failed', status: 412 },
  backendError: { domain: 'global', message: 'Backend Error', status: 500 },
  authError: { domain: 'global', message: 'Invalid Credentials', status: 401 },
};

const DEFAULT_REASON_FOR_STATUS: Record<number, string> = {
  400: 'badRequest',
  401: 'authError',
  403: 'forbidden',
  404: 'notFound',
  409: 'duplicate',
  410: 'deleted',
  412: 'conditionNotMet',
  429: 'rateLimitExceeded',
  500: 'backendError',
  502: 'backendError',
  503: 'backendError',
  504: 'backendError',
};

/** Build an ApiError for a status and (optional) reason, filling Google's usual domain/message. */
export function apiError(
  status: number,
  reason?: string,
  message?: string,
  location?: { location: string; locationType: string },
): ApiError {
  const r = reason ?? DEFAULT_REASON_FOR_STATUS[status] ?? 'backendError';
  const known = KNOWN[r];
  const item: GoogleErrorItem = {
    domain: known?.domain ?? 'global',
    reason: r,
    message: message ?? known?.message ?? `Error ${status}`,
  };
  if (location) {
    item.locationType = location.locationType;
    item.location = location.location;
  }
  return new ApiError(status, item);
}

export const errors = {
  /** 401 for a missing/invalid/expired bearer token (Google's documented authError body). */
  auth(): ApiError {
    return new ApiError(
      401,
      {
        domain: 'global',
        reason: 'authError',
        message: 'Invalid Credentials',
        locationType: 'header',
        location: 'Authorization',
      },
      { 'WWW-Authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
    );
  },
  notFound(): ApiError {
    return apiError(404, 'notFound');
  },
  deleted(): ApiError {
    return apiError(410, 'deleted');
  },
  /** Literal body from CALENDAR-API.md / compass/errors__error.invalidSyncToken.json. */
  fullSyncRequired(): ApiError {
    return apiError(410, 'fullSyncRequired', undefined, {
      locationType: 'parameter',
      location: 'syncToken',
    });
  },
  /** 400 for a malformed sync token (CALENDAR-API.md; reason/domain as compass invalidValue). */
  invalidSyncToken(): ApiError {
    return apiError(400, 'invalid', 'Invalid sync token value.', {
      locationType: 'parameter',
      location: 'syncToken',
    });
  },
  invalidParam(name: string, message = 'Invalid Value'): ApiError {
    return apiError(400, 'invalid', message, { locationType: 'parameter', location: name });
  },
  invalid(message = 'Invalid Value'): ApiError {
    return apiError(400, 'invalid', message);
  },
  required(message = 'Required'): ApiError {
    return apiError(400, 'required', message);
  },
  badRequest(message = 'Bad Request'): ApiError {
    return apiError(400, 'badRequest', message);
  },
  userRateLimit(): ApiError {
    return apiError(403, 'userRateLimitExceeded');
  },
};
