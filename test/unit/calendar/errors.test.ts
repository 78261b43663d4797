// classifyGoogleError: a table of Google / OAuth / network failures and the kind each maps to.
import { describe, expect, it } from 'vitest';
import { CalendarError, classifyGoogleError } from '../../../functions/calendar/errors.js';

/** The shape of a GaxiosError as far as classification reads it. */
function gaxios(status: number, data: unknown, message = 'Request failed') {
  return Object.assign(new Error(message), { status, response: { status, data } });
}
const googleBody = (code: number, reason: string, message = 'x', location?: string) => ({
  error: {
    errors: [{ domain: 'global', reason, message, ...(location ? { location } : {}) }],
    code,
    message,
  },
});

describe('classifyGoogleError', () => {
  const cases: Array<[string, unknown, string]> = [
    [
      '401 authError',
      gaxios(401, googleBody(401, 'authError', 'Invalid Credentials')),
      'unauthorized',
    ],
    [
      'OAuth invalid_grant (refresh failed)',
      gaxios(
        400,
        { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' },
        'invalid_grant',
      ),
      'invalid_grant',
    ],
    ['invalid_grant without response', new Error('invalid_grant'), 'invalid_grant'],
    ['403 rateLimitExceeded', gaxios(403, googleBody(403, 'rateLimitExceeded')), 'rate_limited'],
    [
      '403 userRateLimitExceeded',
      gaxios(403, googleBody(403, 'userRateLimitExceeded')),
      'rate_limited',
    ],
    ['403 quotaExceeded', gaxios(403, googleBody(403, 'quotaExceeded')), 'rate_limited'],
    ['429 rateLimitExceeded', gaxios(429, googleBody(429, 'rateLimitExceeded')), 'rate_limited'],
    ['403 forbidden (permanent)', gaxios(403, googleBody(403, 'forbidden')), 'forbidden'],
    ['403 domain policy (permanent)', gaxios(403, googleBody(403, 'domainPolicy')), 'forbidden'],
    ['403 without a reason (permanent)', gaxios(403, '<html>Forbidden</html>'), 'forbidden'],
    [
      '403 insufficientPermissions (fewer scopes granted)',
      gaxios(403, googleBody(403, 'insufficientPermissions')),
      'insufficient_scope',
    ],
    ['500 backendError', gaxios(500, googleBody(500, 'backendError')), 'transient'],
    ['503', gaxios(503, 'Service Unavailable'), 'transient'],
    ['408', gaxios(408, ''), 'transient'],
    [
      '410 fullSyncRequired',
      gaxios(
        410,
        googleBody(
          410,
          'fullSyncRequired',
          'Sync token is no longer valid, a full sync is required.',
          'syncToken',
        ),
      ),
      'sync_token_invalid',
    ],
    [
      '410 with other wording',
      gaxios(410, googleBody(410, 'fullSyncRequired', 'Gone')),
      'sync_token_invalid',
    ],
    [
      '400 Invalid sync token value.',
      gaxios(400, googleBody(400, 'invalid', 'Invalid sync token value.')),
      'sync_token_invalid',
    ],
    [
      '400 invalid at syncToken',
      gaxios(400, googleBody(400, 'invalid', 'Invalid Value', 'syncToken')),
      'sync_token_invalid',
    ],
    ['400 other', gaxios(400, googleBody(400, 'invalid', 'Invalid Value')), 'bad_request'],
    ['404 notFound', gaxios(404, googleBody(404, 'notFound', 'Not Found')), 'not_found'],
    [
      '400 pushNotSupportedForRequestedResource',
      gaxios(400, googleBody(400, 'pushNotSupportedForRequestedResource')),
      'push_unsupported',
    ],
    [
      'connection reset',
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      'transient',
    ],
    [
      'fetch failed (cause ECONNREFUSED)',
      Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }),
      'transient',
    ],
    [
      'timeout',
      Object.assign(new Error('The operation was aborted due to timeout'), {
        name: 'TimeoutError',
      }),
      'transient',
    ],
    [
      'caller abort',
      Object.assign(new Error('This operation was aborted'), { name: 'AbortError' }),
      'aborted',
    ],
    ['anything else', new Error('boom'), 'other'],
    ['a string body', gaxios(500, JSON.stringify(googleBody(500, 'backendError'))), 'transient'],
  ];
  it.each(cases)('%s', (_name, err, kind) => {
    expect(classifyGoogleError(err).kind).toBe(kind);
  });

  it('keeps status and reason, and passes a CalendarError through', () => {
    const info = classifyGoogleError(
      gaxios(403, googleBody(403, 'userRateLimitExceeded', 'Rate Limit Exceeded')),
    );
    expect(info).toMatchObject({
      status: 403,
      reason: 'userRateLimitExceeded',
      message: 'Rate Limit Exceeded',
    });
    const wrapped = new CalendarError(info);
    expect(classifyGoogleError(wrapped)).toEqual(info);
  });

  it('never puts a request header into the message', () => {
    const err = Object.assign(new Error('Request failed with status code 401'), {
      status: 401,
      response: { status: 401, data: googleBody(401, 'authError', 'Invalid Credentials') },
      config: { headers: { Authorization: 'Bearer ya29.secret' } },
    });
    expect(JSON.stringify(classifyGoogleError(err))).not.toContain('ya29');
  });
});
