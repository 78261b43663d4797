// CalendarApi adapter against a tiny loopback server: forced refresh on 401, backoff within budget, timeouts, invalid_grant, access tokens cached per instance.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createCalendarApi,
  type CalendarClientConfig,
} from '../../../functions/calendar/client.js';
import { CalendarError } from '../../../functions/calendar/errors.js';
import { accessTokenCache, EXPIRY_MARGIN_MS } from '../../../functions/calendar/token-cache.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
let server: Server;
let base = '';
let handler: Handler;
let tokenCalls = 0;
let apiCalls = 0;
let validToken = 'ya29.first';

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
const listBody = {
  kind: 'calendar#events',
  timeZone: 'UTC',
  items: [{ id: 'e1' }],
  nextSyncToken: 'S1',
};

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => handler(req, res, body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((r) => server.close(() => r()));
});
beforeEach(() => {
  tokenCalls = 0;
  apiCalls = 0;
  accessTokenCache.clear();
});

const config = (): CalendarClientConfig => ({
  calendarApiUrl: `${base}/`,
  oauth: { clientId: 'id', clientSecret: 'secret', tokenUrl: `${base}/token` },
  googleTimeoutMs: 300,
  retryBudgetMs: 0,
});

/** Token endpoint issuing `validToken`; API answering via `api`. */
function serve(api: (req: IncomingMessage, res: ServerResponse) => void, tokenStatus = 200) {
  handler = (req, res) => {
    if (req.url === '/token') {
      tokenCalls++;
      if (tokenStatus !== 200)
        return json(res, tokenStatus, {
          error: 'invalid_grant',
          error_description: 'Token has been expired or revoked.',
        });
      return json(res, 200, { access_token: validToken, expires_in: 3600, token_type: 'Bearer' });
    }
    apiCalls++;
    if (req.headers.authorization !== `Bearer ${validToken}`) {
      return json(res, 401, {
        error: {
          errors: [{ domain: 'global', reason: 'authError', message: 'Invalid Credentials' }],
          code: 401,
          message: 'Invalid Credentials',
        },
      });
    }
    api(req, res);
  };
}
const params = { calendarId: 'a@b.c', maxResults: 10, singleEvents: false, showDeleted: false };

describe('createCalendarApi', () => {
  it('lists events and passes the parameters through', async () => {
    let url = '';
    serve((req, res) => {
      url = req.url ?? '';
      json(res, 200, listBody);
    });
    const api = createCalendarApi(config(), 'refresh-1');
    const page = await api.listEvents({ ...params, syncToken: 'tok' });
    expect(page).toEqual({
      items: [{ id: 'e1' }],
      nextSyncToken: 'S1',
      nextPageToken: undefined,
      timeZone: 'UTC',
    });
    expect(url).toContain('/calendar/v3/calendars/a%40b.c/events?');
    expect(url).toContain('syncToken=tok');
    expect(url).toContain('singleEvents=false');
    expect(url).toContain('maxResults=10');
  });

  it('refreshes the access token and retries once on 401', async () => {
    serve((_req, res) => json(res, 200, listBody));
    const api = createCalendarApi(config(), 'refresh-1');
    await api.listEvents(params);
    expect(tokenCalls).toBe(1);
    validToken = 'ya29.second'; // the server revokes the access token the client holds
    await api.listEvents(params);
    expect(tokenCalls).toBe(2);
    expect(apiCalls).toBe(3);
  });

  it('gives up after one refresh when 401 persists', async () => {
    handler = (req, res) => {
      if (req.url === '/token') {
        tokenCalls++;
        return json(res, 200, { access_token: 'ya29.x', expires_in: 3600 });
      }
      apiCalls++;
      json(res, 401, {
        error: { errors: [{ reason: 'authError' }], code: 401, message: 'Invalid Credentials' },
      });
    };
    const api = createCalendarApi(config(), 'refresh-1');
    await expect(api.listEvents(params)).rejects.toMatchObject({ kind: 'unauthorized' });
    expect(apiCalls).toBe(2);
  });

  it('reports invalid_grant when the refresh token is revoked', async () => {
    serve((_req, res) => json(res, 200, listBody), 400);
    const api = createCalendarApi(config(), 'refresh-1');
    const err = await api.listEvents(params).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CalendarError);
    expect(err).toMatchObject({ kind: 'invalid_grant' });
  });

  it('backs off on 429 / 503 within the budget, then succeeds', async () => {
    let n = 0;
    serve((_req, res) => {
      n++;
      if (n === 1)
        return json(res, 429, { error: { errors: [{ reason: 'rateLimitExceeded' }], code: 429 } });
      if (n === 2)
        return json(res, 503, { error: { errors: [{ reason: 'backendError' }], code: 503 } });
      json(res, 200, listBody);
    });
    const pauses: number[] = [];
    const api = createCalendarApi({ ...config(), retryBudgetMs: 10_000 }, 'refresh-1', {
      sleep: async (ms) => void pauses.push(ms),
      random: () => 0.5,
    });
    await api.listEvents(params);
    expect(n).toBe(3); // gaxios' own retries are off: every try is ours
    expect(pauses).toEqual([250, 500]);
  });

  /** A clock that moves only when the client pauses between tries. */
  const fakeClock = () => {
    let t = 0;
    const pauses: number[] = [];
    return {
      pauses,
      options: {
        now: () => t,
        sleep: async (ms: number) => {
          pauses.push(ms);
          t += ms;
        },
        random: () => 0.5,
      },
    };
  };
  const rateLimited = (res: Parameters<typeof json>[0]) =>
    json(res, 403, { error: { errors: [{ reason: 'userRateLimitExceeded' }], code: 403 } });

  it('fails with the classified error when the budget is spent', async () => {
    let tries = 0;
    serve((_req, res) => {
      tries++;
      rateLimited(res);
    });
    const clock = fakeClock();
    const api = createCalendarApi(
      { ...config(), retryBudgetMs: 1_000 },
      'refresh-1',
      clock.options,
    );
    await expect(api.listEvents(params)).rejects.toMatchObject({
      kind: 'rate_limited',
      status: 403,
    });
    // 250 + 500 fit in 1 s, the next 1,000 ms pause does not: three tries, then the error.
    expect(clock.pauses).toEqual([250, 500]);
    expect(tries).toBe(3);
  });

  it('the retry budget is per call: a later call after a slow one still gets its retries', async () => {
    const answers = [429, 429, 200, 429, 429, 200];
    serve((_req, res) => {
      const status = answers.shift() ?? 200;
      if (status === 200) return json(res, 200, listBody);
      json(res, 429, { error: { errors: [{ reason: 'rateLimitExceeded' }], code: 429 } });
    });
    const clock = fakeClock();
    const api = createCalendarApi(
      { ...config(), retryBudgetMs: 1_000 },
      'refresh-1',
      clock.options,
    );
    await api.listEvents(params); // pauses 250 + 500 of its 1 s
    await api.listEvents(params); // a budget for the whole client would be spent by now
    expect(clock.pauses).toEqual([250, 500, 250, 500]);
    expect(answers).toEqual([]);
  });

  it('times out a silent server and classifies it transient', async () => {
    serve(() => undefined); // never answers
    const api = createCalendarApi(config(), 'refresh-1');
    await expect(api.listEvents(params)).rejects.toMatchObject({
      kind: 'transient',
      message: expect.stringMatching(/no answer within \d+ ms/) as string,
    });
  });

  it('stopChannel treats 404 as done; watch returns the channel', async () => {
    serve((req, res) => {
      if (req.url?.startsWith('/calendar/v3/channels/stop'))
        return json(res, 404, { error: { errors: [{ reason: 'notFound' }], code: 404 } });
      json(res, 200, {
        kind: 'api#channel',
        id: 'ch1',
        resourceId: 'R1',
        resourceUri: 'u',
        expiration: '1700000000000',
      });
    });
    const api = createCalendarApi(config(), 'refresh-1');
    await expect(api.stopChannel({ id: 'ch1', resourceId: 'R1' })).resolves.toBeUndefined();
    const ch = await api.watchEvents('a@b.c', {
      id: 'ch1',
      token: 't',
      address: 'https://x/y',
      ttlSeconds: 60,
    });
    expect(ch).toEqual({
      id: 'ch1',
      resourceId: 'R1',
      resourceUri: 'u',
      expiration: 1700000000000,
    });
  });
  it('reuses the access token across APIs built for the same refresh token until near expiry', async () => {
    serve((_req, res) => json(res, 200, listBody));
    const clock = { ms: 1_000_000 };
    const now = () => clock.ms;
    await createCalendarApi(config(), 'refresh-cache', { now }).listEvents(params);
    await createCalendarApi(config(), 'refresh-cache', { now }).listEvents(params);
    expect(tokenCalls).toBe(1);
    // Another user (refresh token) has a token of its own.
    await createCalendarApi(config(), 'refresh-other', { now }).listEvents(params);
    expect(tokenCalls).toBe(2);
    // Within the margin of the 3,600 s lifetime: refreshed, not reused.
    clock.ms += 3_600_000 - EXPIRY_MARGIN_MS;
    await createCalendarApi(config(), 'refresh-cache', { now }).listEvents(params);
    expect(tokenCalls).toBe(3);
    expect(apiCalls).toBe(4);
  });

  it('drops a cached token Google no longer accepts: one 401, one refresh, then the new one is cached', async () => {
    serve((_req, res) => json(res, 200, listBody));
    await createCalendarApi(config(), 'refresh-revoked').listEvents(params);
    validToken = 'ya29.third';
    await createCalendarApi(config(), 'refresh-revoked').listEvents(params);
    await createCalendarApi(config(), 'refresh-revoked').listEvents(params);
    expect(tokenCalls).toBe(2);
    expect(apiCalls).toBe(4); // ok, 401, ok (retried), ok (cached new token)
  });
});
