// Configuration: parseConfig(env, role) validates the environment once and returns a frozen, typed object.
import { createHash } from 'node:crypto';
import { pinSecret } from './log.js';

export type Role = 'webhook' | 'worker' | 'renewal' | 'cli' | 'all';

export interface ChannelSecrets {
  /** Current HMAC key for channel tokens (signs new channels, verifies notifications). */
  readonly current: Buffer;
  /** Previous key, still accepted for verification during a secret rotation. */
  readonly previous: Buffer | undefined;
}

export interface TokenKey {
  /** Short, non-secret id stored beside each ciphertext so rotation knows which key to use. */
  readonly id: string;
  readonly key: Buffer;
}

export interface TokenKeys {
  readonly current: TokenKey;
  readonly previous: TokenKey | undefined;
}

export interface OAuthClientConfig {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly tokenUrl: string;
}

export interface BaseConfig {
  readonly projectId: string;
  readonly topic: string;
  readonly calendarApiUrl: string;
  readonly logLevel: LogLevelName;
  /** Timeout of every single call to Google, in ms. */
  readonly googleTimeoutMs: number;
  readonly channelSecrets: ChannelSecrets | undefined;
  readonly webhookUrl: string | undefined;
  readonly tokenKeys: TokenKeys | undefined;
  readonly oauth: OAuthClientConfig | undefined;
  readonly publishTimeoutMs: number;
  readonly maxResults: number;
  readonly leaseMs: number;
  /** Per-message budget for backoff on rate limits / 5xx before failing the message. */
  readonly retryBudgetMs: number;
  /** Margin when skipping messages published before the start of the last completed sync. */
  readonly clockSkewMs: number;
  /** Optional lower bound (days back) of the full sync; undefined lists everything. */
  readonly fullSyncDaysBack: number | undefined;
  readonly keepDataOnRemove: boolean;
  readonly channelTtlSeconds: number;
  readonly renewWindowMs: number;
  readonly renewConcurrency: number;
  /** Channel renewals (and calendar-list reconciles) started per second: the Calendar API's project quota. */
  readonly renewPerSecond: number;
  readonly renewTimeBudgetMs: number;
  readonly silentChannelMs: number;
  readonly safetyNetMs: number;
  /** Occurrence view: whole days kept before today and after it (the rolling window). */
  readonly occurrenceDaysBack: number;
  readonly occurrenceDaysAhead: number;
  /** Pub/Sub topic of the change feed; undefined = no change feed is published. */
  readonly changesTopic: string | undefined;
  /** A notification's sync lists only this long after the notification was received (a burst shares one list). */
  readonly settleMs: number;
  /** A notification-triggered run that found nothing new lists once more after this pause (visibility lag). */
  readonly recheckMs: number;
  /** At most one events.list sequence per calendar per this interval (the lease holder waits). */
  readonly minSyncIntervalMs: number;
  /** `error` status: first automatic retry after this, doubling per failure up to errorRetryMaxMs. */
  readonly errorRetryBaseMs: number;
  readonly errorRetryMaxMs: number;
  /** Consecutive transient failures after which a calendar is put in `error` (retried by schedule). */
  readonly transientFailuresBeforeError: number;
  /** Channel tokens: how v1 tokens (no expiry inside) are treated, and the grace after a v2 expiry. */
  readonly channelTokens: ChannelTokenPolicy;
  /** Webhook: rejection log lines kept per reason and minute (the rest are counted, not logged). */
  readonly rejectionLogsPerMinute: number;
}

export interface ChannelTokenPolicy {
  /** `accept` until every channel was renewed with a v2 token (`calsync status` counts them), then `reject`. */
  readonly v1: 'accept' | 'reject';
  /** A v2 token is refused this long after the expiry it carries (late retries, clock skew). */
  readonly graceMs: number;
}

export type LogLevelName = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

/** The config a role can count on: the variables that role requires are present. */
export type WebhookConfig = BaseConfig & { readonly channelSecrets: ChannelSecrets };
export type WorkerConfig = WebhookConfig & {
  readonly tokenKeys: TokenKeys;
  readonly oauth: OAuthClientConfig;
};
export type RenewalConfig = WorkerConfig & { readonly webhookUrl: string };
export type Config = RenewalConfig;

type ConfigFor<R extends Role> = R extends 'webhook'
  ? WebhookConfig
  : R extends 'worker'
    ? WorkerConfig
    : RenewalConfig;

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

const REQUIRED: Record<Role, readonly string[]> = {
  webhook: ['CALSYNC_CHANNEL_SECRET'],
  worker: [
    'CALSYNC_CHANNEL_SECRET',
    'CALSYNC_TOKEN_KEY',
    'GOOGLE_OAUTH_CLIENT_ID',
    'GOOGLE_OAUTH_CLIENT_SECRET',
  ],
  renewal: [
    'CALSYNC_CHANNEL_SECRET',
    'CALSYNC_TOKEN_KEY',
    'GOOGLE_OAUTH_CLIENT_ID',
    'GOOGLE_OAUTH_CLIENT_SECRET',
    'CALSYNC_WEBHOOK_URL',
  ],
  cli: [
    'CALSYNC_CHANNEL_SECRET',
    'CALSYNC_TOKEN_KEY',
    'GOOGLE_OAUTH_CLIENT_ID',
    'GOOGLE_OAUTH_CLIENT_SECRET',
    'CALSYNC_WEBHOOK_URL',
  ],
  all: [
    'CALSYNC_CHANNEL_SECRET',
    'CALSYNC_TOKEN_KEY',
    'GOOGLE_OAUTH_CLIENT_ID',
    'GOOGLE_OAUTH_CLIENT_SECRET',
    'CALSYNC_WEBHOOK_URL',
  ],
};

type Env = Readonly<Record<string, string | undefined>>;

/** Reads variables and collects every problem, so one error names them all. */
class Reader {
  readonly problems: string[] = [];
  constructor(
    private readonly env: Env,
    private readonly required: ReadonlySet<string>,
  ) {}

  raw(name: string): string | undefined {
    const value = this.env[name];
    if (value === undefined || value.trim() === '') {
      if (this.required.has(name)) this.problems.push(`${name} is required`);
      return undefined;
    }
    return value.trim();
  }

  string(name: string, fallback: string, pattern?: RegExp, what?: string): string {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (pattern && !pattern.test(value)) {
      this.problems.push(`${name} must be ${what ?? `of the form ${pattern}`}`);
      return fallback;
    }
    return value;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value)) {
      this.problems.push(`${name} must be a whole number between ${min} and ${max}`);
      return fallback;
    }
    const n = Number(value);
    if (n < min || n > max) {
      this.problems.push(`${name} must be between ${min} and ${max}`);
      return fallback;
    }
    return n;
  }

  optionalInt(name: string, min: number, max: number): number | undefined {
    return this.raw(name) === undefined ? undefined : this.int(name, min, min, max);
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (/^(1|true|yes)$/i.test(value)) return true;
    if (/^(0|false|no)$/i.test(value)) return false;
    this.problems.push(`${name} must be true or false`);
    return fallback;
  }

  url(
    name: string,
    fallback: string | undefined,
    opts: { httpsUnlessLoopback: boolean; googleHosts?: readonly string[] },
  ) {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      this.problems.push(`${name} must be an absolute URL`);
      return fallback;
    }
    const loopback = isLoopbackHost(parsed.hostname);
    const okScheme =
      parsed.protocol === 'https:' ||
      (parsed.protocol === 'http:' && (loopback || !opts.httpsUnlessLoopback));
    if (!okScheme) {
      this.problems.push(`${name} must use https (http is allowed only for loopback addresses)`);
      return fallback;
    }
    if (parsed.username !== '' || parsed.password !== '') {
      this.problems.push(`${name} must not carry credentials`);
      return fallback;
    }
    if (opts.googleHosts && !loopback && !opts.googleHosts.includes(parsed.hostname)) {
      // Refresh tokens and access tokens go to these addresses: only Google's own hosts, or an
      // explicitly local simulator (a loopback address cannot carry a token off the machine).
      this.problems.push(
        `${name} must be on ${opts.googleHosts.join(' or ')} (or a loopback address for a local simulator)`,
      );
      return fallback;
    }
    return value;
  }

  /** A secret of at least `minBytes` bytes; the message never contains the value. */
  secret(name: string, minBytes: number): Buffer | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length < minBytes) {
      this.problems.push(`${name} must be at least ${minBytes} bytes long`);
      return undefined;
    }
    return bytes;
  }

  /** A base64 AES-256 key: exactly 32 bytes once decoded. */
  aesKey(name: string): TokenKey | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(value)
      ? Buffer.from(value, 'base64')
      : Buffer.alloc(0);
    if (key.length !== 32) {
      this.problems.push(`${name} must be 32 bytes encoded as base64`);
      return undefined;
    }
    return { id: keyId(key), key };
  }
}

/** A stable, non-secret identifier of a key (first 8 hex digits of its SHA-256). */
export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Hosts that may receive users' tokens (DESIGN "Configuration"); anything else must be loopback. */
export const GOOGLE_API_HOSTS = ['www.googleapis.com'] as const;
export const GOOGLE_OAUTH_HOSTS = ['oauth2.googleapis.com', 'www.googleapis.com'] as const;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export function parseConfig<R extends Role = 'all'>(env: Env, role?: R): Readonly<ConfigFor<R>> {
  // Each step reads its variables in turn; the order is the order of the problems reported.
  const r = new Reader(env, new Set(REQUIRED[role ?? 'all']));
  const projectId = readProjectId(r, env);
  const { topic, changesTopic } = readTopics(r);
  const { calendarApiUrl, ...credentials } = readCredentialsAndEndpoints(r);
  const logLevel = r.string(
    'CALSYNC_LOG_LEVEL',
    'INFO',
    /^(DEBUG|INFO|WARNING|ERROR)$/,
    'DEBUG, INFO, WARNING or ERROR',
  ) as LogLevelName;
  const config: BaseConfig = {
    projectId: projectId ?? '',
    topic,
    calendarApiUrl,
    logLevel,
    googleTimeoutMs: r.int('CALSYNC_GOOGLE_TIMEOUT_MS', 30 * SECOND, 100, 10 * MINUTE),
    ...credentials,
    ...readSyncAndRenewalKnobs(r),
    changesTopic,
    ...readDeliveryKnobs(r),
  };
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  pinConfigSecrets(env, config);
  return Object.freeze(config) as Readonly<ConfigFor<R>>;
}

function readProjectId(r: Reader, env: Env): string | undefined {
  const projectId =
    r.raw('GOOGLE_CLOUD_PROJECT') ?? env.GCLOUD_PROJECT?.trim() ?? env.GCP_PROJECT?.trim();
  if (projectId === undefined || projectId === '') {
    r.problems.push('GOOGLE_CLOUD_PROJECT is required');
  } else if (!/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(projectId) && !/^demo-/.test(projectId)) {
    r.problems.push(
      'GOOGLE_CLOUD_PROJECT must be a project id (6-30 lowercase letters, digits, hyphens)',
    );
  }
  return projectId;
}

function readTopics(r: Reader): { topic: string; changesTopic: string | undefined } {
  const topicName = /^[A-Za-z][\w.~+%-]{2,254}$/;
  const topic = r.string(
    'CALSYNC_TOPIC',
    'calendar-notifications',
    topicName,
    'a Pub/Sub topic name',
  );
  const changesTopic =
    r.string('CALSYNC_CHANGES_TOPIC', '', topicName, 'a Pub/Sub topic name') || undefined;
  if (changesTopic !== undefined && changesTopic === topic) {
    r.problems.push('CALSYNC_CHANGES_TOPIC must not be the notifications topic (CALSYNC_TOPIC)');
  }
  return { topic, changesTopic };
}

/** Secrets, keys, the OAuth client and the URLs that receive them (Google's hosts or loopback). */
function readCredentialsAndEndpoints(
  r: Reader,
): Pick<BaseConfig, 'calendarApiUrl' | 'channelSecrets' | 'webhookUrl' | 'tokenKeys' | 'oauth'> {
  const current = r.secret('CALSYNC_CHANNEL_SECRET', 32);
  const previous = r.secret('CALSYNC_CHANNEL_SECRET_PREVIOUS', 32);
  const keyCurrent = r.aesKey('CALSYNC_TOKEN_KEY');
  const keyPrevious = r.aesKey('CALSYNC_TOKEN_KEY_PREVIOUS');
  const clientId = r.raw('GOOGLE_OAUTH_CLIENT_ID');
  const clientSecret = r.raw('GOOGLE_OAUTH_CLIENT_SECRET');
  const tokenUrl = r.url('CALSYNC_OAUTH_TOKEN_URL', 'https://oauth2.googleapis.com/token', {
    httpsUnlessLoopback: true,
    googleHosts: GOOGLE_OAUTH_HOSTS,
  });
  const calendarApiUrl = r.url('CALSYNC_CALENDAR_API_URL', 'https://www.googleapis.com/', {
    httpsUnlessLoopback: true,
    googleHosts: GOOGLE_API_HOSTS,
  });
  const webhookUrl = r.url('CALSYNC_WEBHOOK_URL', undefined, { httpsUnlessLoopback: true });
  return {
    calendarApiUrl: withTrailingSlash(calendarApiUrl ?? 'https://www.googleapis.com/'),
    channelSecrets: current ? { current, previous } : undefined,
    webhookUrl,
    tokenKeys: keyCurrent ? { current: keyCurrent, previous: keyPrevious } : undefined,
    oauth:
      clientId && clientSecret
        ? { clientId, clientSecret, tokenUrl: tokenUrl ?? 'https://oauth2.googleapis.com/token' }
        : undefined,
  };
}

/** Listing, leases and retries of the sync; channel renewal; the occurrence window. */
function readSyncAndRenewalKnobs(r: Reader) {
  return {
    publishTimeoutMs: r.int('CALSYNC_PUBLISH_TIMEOUT_MS', 10 * SECOND, 100, MINUTE),
    maxResults: r.int('CALSYNC_MAX_RESULTS', 2500, 1, 2500),
    leaseMs: r.int('CALSYNC_LEASE_SECONDS', 120, 5, 3600) * SECOND,
    retryBudgetMs: r.int('CALSYNC_RETRY_BUDGET_SECONDS', 120, 0, 3600) * SECOND,
    clockSkewMs: r.int('CALSYNC_CLOCK_SKEW_SECONDS', 5, 0, 600) * SECOND,
    fullSyncDaysBack: r.optionalInt('CALSYNC_FULL_SYNC_DAYS_BACK', 1, 36500),
    keepDataOnRemove: r.bool('CALSYNC_KEEP_DATA_ON_REMOVE', false),
    channelTtlSeconds: r.int('CALSYNC_CHANNEL_TTL_SECONDS', 7 * 24 * 3600, 60, 30 * 24 * 3600),
    renewWindowMs:
      r.int('CALSYNC_RENEW_WINDOW_SECONDS', 24 * 3600, 2 * 3600 + 1, 30 * 24 * 3600) * SECOND,
    renewConcurrency: r.int('CALSYNC_RENEW_CONCURRENCY', 60, 1, 500),
    renewPerSecond: r.int('CALSYNC_RENEW_PER_SECOND', 40, 1, 1000),
    renewTimeBudgetMs: r.int('CALSYNC_RENEW_TIME_BUDGET_SECONDS', 480, 5, 3600) * SECOND,
    silentChannelMs:
      r.int('CALSYNC_SILENT_CHANNEL_SECONDS', 3 * 24 * 3600, 60, 365 * 24 * 3600) * SECOND,
    safetyNetMs: r.int('CALSYNC_SAFETY_NET_SECONDS', 6 * 3600, 60, 30 * 24 * 3600) * SECOND,
    occurrenceDaysBack: r.int('CALSYNC_OCCURRENCE_DAYS_BACK', 30, 0, 3650),
    occurrenceDaysAhead: r.int('CALSYNC_OCCURRENCE_DAYS_AHEAD', 365, 1, 3650),
  };
}

/** Channel tokens, webhook logging, notification pacing and the error-retry schedule. */
function readDeliveryKnobs(r: Reader) {
  return {
    channelTokens: {
      v1: r.string(
        'CALSYNC_CHANNEL_TOKEN_V1',
        'accept',
        /^(accept|reject)$/,
        'accept or reject',
      ) as ChannelTokenPolicy['v1'],
      graceMs: r.int('CALSYNC_CHANNEL_TOKEN_GRACE_SECONDS', 3600, 0, 7 * 24 * 3600) * SECOND,
    },
    rejectionLogsPerMinute: r.int('CALSYNC_REJECTION_LOGS_PER_MINUTE', 10, 1, 100_000),
    settleMs: r.int('CALSYNC_SETTLE_MS', 300, 0, MINUTE),
    recheckMs: r.int('CALSYNC_RECHECK_MS', 2 * SECOND, 0, 5 * MINUTE),
    minSyncIntervalMs: r.int('CALSYNC_MIN_SYNC_INTERVAL_MS', SECOND, 0, 10 * MINUTE),
    errorRetryBaseMs: r.int('CALSYNC_ERROR_RETRY_BASE_SECONDS', 3600, 1, 7 * 24 * 3600) * SECOND,
    errorRetryMaxMs:
      r.int('CALSYNC_ERROR_RETRY_MAX_SECONDS', 24 * 3600, 1, 30 * 24 * 3600) * SECOND,
    transientFailuresBeforeError: r.int('CALSYNC_TRANSIENT_FAILURES_BEFORE_ERROR', 5, 1, 1000),
  };
}

/** The logger blanks every configuration secret wherever it appears, whoever logs it. */
function pinConfigSecrets(env: Env, config: BaseConfig): void {
  pinSecret(config.channelSecrets?.current);
  pinSecret(config.channelSecrets?.previous);
  pinSecret(config.oauth?.clientSecret);
  pinSecret(env.CALSYNC_TOKEN_KEY?.trim());
  pinSecret(env.CALSYNC_TOKEN_KEY_PREVIOUS?.trim());
}

function withTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

export const durations = { SECOND, MINUTE, HOUR, DAY } as const;
