// parseConfig: table-driven good and bad environments, and that no secret value reaches an error.
import { describe, expect, it } from 'vitest';
import { ConfigError, keyId, parseConfig, type Config } from '../../functions/config.js';
import { REQUIRED_ENV } from '../fixtures/env.js';
import { createLogger } from '../../functions/log.js';

const SECRET = 'channel-secret-0123456789abcdefghijklmnop';
const KEY = Buffer.alloc(32, 7).toString('base64');
const good = {
  GOOGLE_CLOUD_PROJECT: 'calsync-prod',
  CALSYNC_CHANNEL_SECRET: SECRET,
  CALSYNC_TOKEN_KEY: KEY,
  GOOGLE_OAUTH_CLIENT_ID: 'client.apps.googleusercontent.com',
  GOOGLE_OAUTH_CLIENT_SECRET: 'oauth-client-secret-value',
  CALSYNC_WEBHOOK_URL: 'https://example.com/webhook',
};

describe('parseConfig accepts', () => {
  const cases: Array<[string, Record<string, string>, (c: Config) => void]> = [
    [
      'the minimal production environment with defaults',
      good,
      (c) => {
        expect(c.projectId).toBe('calsync-prod');
        expect(c.topic).toBe('calendar-notifications');
        expect(c.calendarApiUrl).toBe('https://www.googleapis.com/');
        expect(c.oauth.tokenUrl).toBe('https://oauth2.googleapis.com/token');
        expect(c.maxResults).toBe(2500);
        expect(c.channelTtlSeconds).toBe(604800);
        expect(c.channelSecrets.previous).toBeUndefined();
        expect(c.tokenKeys.current.id).toBe(keyId(Buffer.alloc(32, 7)));
        expect(c.occurrenceDaysBack).toBe(30);
        expect(c.occurrenceDaysAhead).toBe(365);
        expect(c.changesTopic).toBeUndefined();
        expect(c.channelTokens).toEqual({ v1: 'accept', graceMs: 3_600_000 });
        expect(c.rejectionLogsPerMinute).toBe(10);
      },
    ],
    [
      "Google's own hosts spelled out, v1 tokens switched off, a tighter grace",
      {
        ...good,
        CALSYNC_CALENDAR_API_URL: 'https://www.googleapis.com',
        CALSYNC_OAUTH_TOKEN_URL: 'https://oauth2.googleapis.com/token',
        CALSYNC_CHANNEL_TOKEN_V1: 'reject',
        CALSYNC_CHANNEL_TOKEN_GRACE_SECONDS: '600',
        CALSYNC_REJECTION_LOGS_PER_MINUTE: '100',
      },
      (c) => {
        expect(c.calendarApiUrl).toBe('https://www.googleapis.com/');
        expect(c.channelTokens).toEqual({ v1: 'reject', graceMs: 600_000 });
        expect(c.rejectionLogsPerMinute).toBe(100);
      },
    ],
    [
      'a loopback simulator over http',
      {
        ...good,
        CALSYNC_CALENDAR_API_URL: 'http://127.0.0.1:8790',
        CALSYNC_OAUTH_TOKEN_URL: 'http://localhost:8790/token',
        CALSYNC_WEBHOOK_URL: 'http://[::1]:8080/',
      },
      (c) => {
        expect(c.calendarApiUrl).toBe('http://127.0.0.1:8790/');
        expect(c.oauth.tokenUrl).toBe('http://localhost:8790/token');
      },
    ],
    [
      'rotation secrets and tuned numbers',
      {
        ...good,
        CALSYNC_CHANNEL_SECRET_PREVIOUS: 'p'.repeat(40),
        CALSYNC_TOKEN_KEY_PREVIOUS: Buffer.alloc(32, 1).toString('base64'),
        CALSYNC_MAX_RESULTS: '250',
        CALSYNC_LEASE_SECONDS: '30',
        CALSYNC_KEEP_DATA_ON_REMOVE: 'true',
        CALSYNC_FULL_SYNC_DAYS_BACK: '365',
      },
      (c) => {
        expect(c.channelSecrets.previous?.toString()).toBe('p'.repeat(40));
        expect(c.tokenKeys.previous?.id).not.toBe(c.tokenKeys.current.id);
        expect(c.maxResults).toBe(250);
        expect(c.leaseMs).toBe(30_000);
        expect(c.keepDataOnRemove).toBe(true);
        expect(c.fullSyncDaysBack).toBe(365);
      },
    ],
    [
      'an occurrence window and a change feed topic',
      {
        ...good,
        CALSYNC_OCCURRENCE_DAYS_BACK: '0',
        CALSYNC_OCCURRENCE_DAYS_AHEAD: '90',
        CALSYNC_CHANGES_TOPIC: 'calendar-changes',
      },
      (c) => {
        expect(c.occurrenceDaysBack).toBe(0);
        expect(c.occurrenceDaysAhead).toBe(90);
        expect(c.changesTopic).toBe('calendar-changes');
      },
    ],
  ];
  it.each(cases)('%s', (_name, env, check) => {
    const config = parseConfig(env);
    check(config);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('pins every configuration secret in the logger: no line can print one, whoever logs it', () => {
    const env = {
      ...good,
      CALSYNC_CHANNEL_SECRET: 'a-fresh-channel-secret-for-this-test-0123456789',
      GOOGLE_OAUTH_CLIENT_SECRET: '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-test',
      CALSYNC_TOKEN_KEY: Buffer.alloc(32, 42).toString('base64'),
    };
    parseConfig(env);
    const lines: string[] = [];
    createLogger({ write: (l) => lines.push(l) }).info(
      `${env.CALSYNC_CHANNEL_SECRET} ${env.GOOGLE_OAUTH_CLIENT_SECRET} ${env.CALSYNC_TOKEN_KEY}`,
    );
    for (const v of [
      env.CALSYNC_CHANNEL_SECRET,
      env.GOOGLE_OAUTH_CLIENT_SECRET,
      env.CALSYNC_TOKEN_KEY,
    ]) {
      expect(lines[0]).not.toContain(v);
    }
  });

  it('the webhook role needs only the project and the channel secret', () => {
    const c = parseConfig(
      { GOOGLE_CLOUD_PROJECT: 'calsync-prod', CALSYNC_CHANNEL_SECRET: SECRET },
      'webhook',
    );
    expect(c.channelSecrets.current.toString()).toBe(SECRET);
    expect(c.tokenKeys).toBeUndefined();
  });
});

describe('parseConfig rejects', () => {
  const cases: Array<[string, Record<string, string | undefined>, string[]]> = [
    ['an empty environment, naming every missing variable', {}, [...REQUIRED_ENV]],
    [
      'a short channel secret',
      { ...good, CALSYNC_CHANNEL_SECRET: 'short-secret' },
      ['CALSYNC_CHANNEL_SECRET must be at least 32 bytes'],
    ],
    [
      'a token key that is not 32 bytes',
      { ...good, CALSYNC_TOKEN_KEY: Buffer.alloc(16).toString('base64') },
      ['CALSYNC_TOKEN_KEY must be 32 bytes'],
    ],
    [
      'a token key that is not base64',
      { ...good, CALSYNC_TOKEN_KEY: 'not base64 at all!' },
      ['CALSYNC_TOKEN_KEY must be 32 bytes'],
    ],
    [
      'a plain-http public webhook',
      { ...good, CALSYNC_WEBHOOK_URL: 'http://example.com/hook' },
      ['CALSYNC_WEBHOOK_URL must use https'],
    ],
    [
      'a webhook that is not a URL',
      { ...good, CALSYNC_WEBHOOK_URL: 'webhook' },
      ['CALSYNC_WEBHOOK_URL must be an absolute URL'],
    ],
    [
      'a typo in a number',
      { ...good, CALSYNC_MAX_RESULTS: '25OO' },
      ['CALSYNC_MAX_RESULTS must be a whole number'],
    ],
    [
      "maxResults above Google's maximum",
      { ...good, CALSYNC_MAX_RESULTS: '5000' },
      ['CALSYNC_MAX_RESULTS must be between 1 and 2500'],
    ],
    [
      'a renewal window narrower than two scheduler runs',
      { ...good, CALSYNC_RENEW_WINDOW_SECONDS: '3600' },
      ['CALSYNC_RENEW_WINDOW_SECONDS must be between'],
    ],
    [
      'a bad boolean',
      { ...good, CALSYNC_KEEP_DATA_ON_REMOVE: 'maybe' },
      ['CALSYNC_KEEP_DATA_ON_REMOVE must be true or false'],
    ],
    [
      'a bad project id',
      { ...good, GOOGLE_CLOUD_PROJECT: 'Bad_Project' },
      ['GOOGLE_CLOUD_PROJECT must be a project id'],
    ],
    [
      'an occurrence window typo and one beyond ten years',
      { ...good, CALSYNC_OCCURRENCE_DAYS_BACK: '30d', CALSYNC_OCCURRENCE_DAYS_AHEAD: '4000' },
      [
        'CALSYNC_OCCURRENCE_DAYS_BACK must be a whole number',
        'CALSYNC_OCCURRENCE_DAYS_AHEAD must be between 1 and 3650',
      ],
    ],
    [
      'an empty occurrence window ahead',
      { ...good, CALSYNC_OCCURRENCE_DAYS_AHEAD: '0' },
      ['CALSYNC_OCCURRENCE_DAYS_AHEAD must be between 1 and 3650'],
    ],
    [
      'a change feed topic that is not a topic name',
      { ...good, CALSYNC_CHANGES_TOPIC: 'projects/p/topics/x' },
      ['CALSYNC_CHANGES_TOPIC must be a Pub/Sub topic name'],
    ],
    [
      'a change feed on the notifications topic',
      { ...good, CALSYNC_CHANGES_TOPIC: 'calendar-notifications' },
      ['CALSYNC_CHANGES_TOPIC must not be the notifications topic'],
    ],
    [
      'a Calendar API root that is not Google (a config change must not send tokens elsewhere)',
      { ...good, CALSYNC_CALENDAR_API_URL: 'https://calendar.example.com/' },
      ['CALSYNC_CALENDAR_API_URL must be on www.googleapis.com'],
    ],
    [
      'a token endpoint on a look-alike or a Google-owned but wrong host',
      { ...good, CALSYNC_OAUTH_TOKEN_URL: 'https://oauth2.googleapis.com.evil.test/token' },
      ['CALSYNC_OAUTH_TOKEN_URL must be on oauth2.googleapis.com'],
    ],
    [
      'a token endpoint on storage.googleapis.com (anyone can own a bucket path there)',
      { ...good, CALSYNC_OAUTH_TOKEN_URL: 'https://storage.googleapis.com/bucket/token' },
      ['CALSYNC_OAUTH_TOKEN_URL must be on oauth2.googleapis.com'],
    ],
    [
      'a simulator on a non-loopback address over http, and credentials inside a URL',
      {
        ...good,
        CALSYNC_CALENDAR_API_URL: 'http://10.0.0.5:8790/',
        CALSYNC_OAUTH_TOKEN_URL: 'https://user:pw@oauth2.googleapis.com/token',
      },
      [
        'CALSYNC_CALENDAR_API_URL must use https',
        'CALSYNC_OAUTH_TOKEN_URL must not carry credentials',
      ],
    ],
    [
      'an unknown v1 token setting, a grace beyond a week, no rejection log at all',
      {
        ...good,
        CALSYNC_CHANNEL_TOKEN_V1: 'maybe',
        CALSYNC_CHANNEL_TOKEN_GRACE_SECONDS: '999999',
        CALSYNC_REJECTION_LOGS_PER_MINUTE: '0',
      },
      [
        'CALSYNC_CHANNEL_TOKEN_V1 must be accept or reject',
        'CALSYNC_CHANNEL_TOKEN_GRACE_SECONDS must be between 0 and 604800',
        'CALSYNC_REJECTION_LOGS_PER_MINUTE must be between 1 and 100000',
      ],
    ],
    [
      'two problems at once',
      { ...good, CALSYNC_MAX_RESULTS: '0', CALSYNC_LOG_LEVEL: 'LOUD' },
      ['CALSYNC_MAX_RESULTS', 'CALSYNC_LOG_LEVEL'],
    ],
  ];
  it.each(cases)('%s', (_name, env, expected) => {
    let error: unknown;
    try {
      parseConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const part of expected) expect(message).toContain(part);
    for (const value of Object.values(env)) {
      if (
        value &&
        value.length >= 8 &&
        /SECRET|KEY/.test(Object.keys(env).find((k) => env[k] === value) ?? '')
      ) {
        expect(message).not.toContain(value);
      }
    }
  });

  it('never puts a secret value in the message', () => {
    const env = {
      ...good,
      CALSYNC_CHANNEL_SECRET: 'tiny-secret',
      CALSYNC_TOKEN_KEY: 'c2VjcmV0LWtleS12YWx1ZQ==',
    };
    expect(() => parseConfig(env)).toThrowError(ConfigError);
    try {
      parseConfig(env);
    } catch (e) {
      expect(String(e)).not.toContain('tiny-secret');
      expect(String(e)).not.toContain('c2VjcmV0LWtleS12YWx1ZQ==');
    }
  });
});
