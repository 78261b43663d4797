// infra/ and cloudbuild.yaml agree with the code: entry points, runtime, environment and secret names, topic.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig, type Role } from '../../../functions/config.js';
import {
  block,
  configVariableNames,
  functionSettings,
  isBody,
  loadTerraform,
  locals,
  read,
  resource,
  str,
  variableDefault,
} from './load.js';
import { REQUIRED_ENV } from '../../fixtures/env.js';

/** Function key in infra => functions-framework target and parseConfig role. */
const FUNCTIONS = {
  webhook: { target: 'webhook', role: 'webhook', signature: 'http' },
  sync_worker: { target: 'syncWorker', role: 'worker', signature: 'cloudEvent' },
  renew_channels: { target: 'renewChannels', role: 'renewal', signature: 'http' },
} as const satisfies Record<string, { target: string; role: Role; signature: string }>;
type FunctionKey = keyof typeof FUNCTIONS;
const KEYS = Object.keys(FUNCTIONS) as FunctionKey[];

function stringMap(value: unknown, what: string): Record<string, unknown> {
  if (!isBody(value)) throw new Error(`${what} is not a literal map`);
  return value;
}

function stringList(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new Error(`${what} is not a literal list of strings`);
  }
  return value as string[];
}

async function infraConfig() {
  const files = await loadTerraform();
  const l = locals(files);
  const env = stringMap(l.function_env, 'local.function_env');
  const access = stringMap(l.function_secret_access, 'local.function_secret_access');
  const secretIds = stringMap(l.secret_ids, 'local.secret_ids');
  return {
    files,
    env: Object.fromEntries(
      KEYS.map((k) => [k, Object.keys(stringMap(env[k], `local.function_env.${k}`))]),
    ) as Record<FunctionKey, string[]>,
    secrets: Object.fromEntries(
      KEYS.map((k) => [k, stringList(access[k], `local.function_secret_access.${k}`)]),
    ) as Record<FunctionKey, string[]>,
    secretIds: Object.keys(secretIds),
  };
}

/** A plausible production value for each variable infra provides. */
function sampleValue(name: string): string {
  if (name === 'GOOGLE_CLOUD_PROJECT') return 'calsync-prod-123';
  if (name === 'CALSYNC_TOPIC') return 'calendar-notifications';
  if (name === 'CALSYNC_LOG_LEVEL') return 'INFO';
  if (name === 'GOOGLE_OAUTH_CLIENT_ID') return '1234-abc.apps.googleusercontent.com';
  if (name === 'CALSYNC_WEBHOOK_URL')
    return 'https://us-central1-calsync-prod-123.cloudfunctions.net/calsync-webhook';
  if (name.startsWith('CALSYNC_TOKEN_KEY')) return randomBytes(32).toString('base64');
  if (name.startsWith('CALSYNC_CHANNEL_SECRET')) return randomBytes(48).toString('base64url');
  if (name === 'GOOGLE_OAUTH_CLIENT_SECRET') return 'GOCSPX-not-a-real-secret';
  throw new Error(`no sample value for ${name}: add one (and check config.ts reads it)`);
}

describe('entry points and runtime', () => {
  it('deploys exactly webhook, syncWorker and renewChannels', async () => {
    const settings = functionSettings(await loadTerraform());
    expect(Object.keys(settings).sort()).toEqual([...KEYS].sort());
    for (const key of KEYS) expect(settings[key]!.entry_point).toBe(FUNCTIONS[key].target);
  });

  it('uses the entry point and nodejs22 in the function resource', async () => {
    const fn = resource(await loadTerraform(), 'google_cloudfunctions2_function', 'functions');
    const build = block(fn, 'build_config');
    expect(build.entry_point).toBe('${each.value.entry_point}');
    expect(build.runtime).toBe('nodejs22');
    const service = block(fn, 'service_config');
    expect(str(service, 'environment_variables')).toContain('local.function_env[each.key]');
    const dynamic = JSON.stringify(service.dynamic);
    expect(dynamic).toContain('secret_environment_variables');
    expect(dynamic).toContain('local.function_secrets[each.key]');
  });

  it('builds and tests on Node 22 like the runtime, and package.json main is the entry file', () => {
    const pkg = JSON.parse(read('package.json')) as {
      main: string;
      engines?: { node?: string };
      devDependencies?: Record<string, string>;
      scripts?: Record<string, string>;
    };
    expect(pkg.main).toBe('dist/functions/index.js');
    expect(pkg.scripts?.build, 'the buildpack runs `npm run build`').toBeTruthy();
    expect(pkg.devDependencies?.node ?? '').toMatch(/^\^?22\./);
  });

  it('deploys every target functions/index.ts registers, with the matching signature', (ctx) => {
    const source = read('functions/index.ts');
    const registered = [
      ...source.matchAll(/\b(http|cloudEvent)\s*(?:<[^>]*>)?\(\s*['"]([A-Za-z]+)['"]/g),
    ].map((m) => ({ signature: m[1]!, target: m[2]! }));
    if (registered.length === 0) {
      ctx.skip('functions/index.ts registers no target yet');
      return;
    }
    const deployed = Object.values(FUNCTIONS);
    for (const r of registered) {
      const f = deployed.find((d) => d.target === r.target);
      expect(f, `${r.target} is registered but not deployed`).toBeDefined();
      expect(r.signature, r.target).toBe(f!.signature);
    }
  });

  it('registers every deployed target in functions/index.ts (once all three are written)', (ctx) => {
    const source = read('functions/index.ts');
    const missing = Object.values(FUNCTIONS).filter(
      (f) =>
        !new RegExp(`\\b${f.signature}\\s*(?:<[^>]*>)?\\(\\s*['"]${f.target}['"]`).test(source),
    );
    // While the handlers are being written the entry file registers them one by one.
    // TODO(lead): drop this skip once functions/index.ts registers all three targets.
    if (missing.length > 0) {
      ctx.skip(`not registered yet: ${missing.map((f) => f.target).join(', ')}`);
      return;
    }
    expect(missing.map((f) => f.target)).toEqual([]);
  });
});

describe('environment and secrets', () => {
  it('sets only variables functions/config.ts reads', async () => {
    const known = configVariableNames();
    expect(known.size).toBeGreaterThan(10); // the scan of config.ts found its reads
    const { env, secrets, secretIds } = await infraConfig();
    const used = new Set([
      ...Object.values(env).flat(),
      ...Object.values(secrets).flat(),
      ...secretIds,
    ]);
    for (const name of used) expect(known, `${name} is not read by parseConfig`).toContain(name);
  });

  it('suggests only variables config.ts reads in terraform.tfvars.example', () => {
    const known = configVariableNames();
    const example = read('infra/terraform.tfvars.example');
    const mentioned = [...example.matchAll(/\b((?:CALSYNC|GOOGLE)_[A-Z0-9_]+)\b/g)].map(
      (m) => m[1]!,
    );
    expect(mentioned.length).toBeGreaterThan(0);
    for (const name of mentioned) expect(known, name).toContain(name);
  });

  it('keeps every secret in Secret Manager, never in a plain environment variable', async () => {
    const { env, secrets, secretIds } = await infraConfig();
    expect(secretIds.sort()).toEqual([
      'CALSYNC_CHANNEL_SECRET',
      'CALSYNC_CHANNEL_SECRET_PREVIOUS',
      'CALSYNC_TOKEN_KEY',
      'CALSYNC_TOKEN_KEY_PREVIOUS',
      'GOOGLE_OAUTH_CLIENT_SECRET',
    ]);
    for (const key of KEYS) {
      for (const s of secrets[key]) expect(secretIds).toContain(s);
      for (const e of env[key]) expect(secretIds, `${e} is a secret`).not.toContain(e);
    }
  });

  it('gives the webhook only the channel secrets (no token key, no OAuth client secret)', async () => {
    const { secrets } = await infraConfig();
    expect(secrets.webhook.sort()).toEqual([
      'CALSYNC_CHANNEL_SECRET',
      'CALSYNC_CHANNEL_SECRET_PREVIOUS',
    ]);
  });

  for (const key of KEYS) {
    it(`provides every variable parseConfig requires for ${key} (role ${FUNCTIONS[key].role})`, async () => {
      const { env, secrets } = await infraConfig();
      // Outside a rotation the *_PREVIOUS secrets are not mounted: the config must stand without them.
      const mounted = [...env[key], ...secrets[key].filter((s) => !s.endsWith('_PREVIOUS'))];
      const values = Object.fromEntries(mounted.map((n) => [n, sampleValue(n)]));
      expect(() => parseConfig(values, FUNCTIONS[key].role)).not.toThrow();
      // ...and during a rotation, with the previous secrets as well.
      const all = [...env[key], ...secrets[key]];
      expect(() =>
        parseConfig(Object.fromEntries(all.map((n) => [n, sampleValue(n)])), FUNCTIONS[key].role),
      ).not.toThrow();
    });
  }

  it('sets GOOGLE_CLOUD_PROJECT and CALSYNC_TOPIC on every function (2nd gen sets no project variable)', async () => {
    const { env } = await infraConfig();
    for (const key of KEYS)
      expect(env[key]).toEqual(expect.arrayContaining(['GOOGLE_CLOUD_PROJECT', 'CALSYNC_TOPIC']));
  });

  it('has the same default topic as config.ts', async () => {
    const files = await loadTerraform();
    const config = parseConfig(
      {
        GOOGLE_CLOUD_PROJECT: 'demo-infra',
        CALSYNC_CHANNEL_SECRET: sampleValue('CALSYNC_CHANNEL_SECRET'),
      },
      'webhook',
    );
    expect(variableDefault(files, 'topic_name')).toBe(config.topic);
    const topic = resource(files, 'google_pubsub_topic', 'notifications');
    expect(topic.name).toBe('${var.topic_name}');
  });

  it('gives the renewer more time than its work budget, and Scheduler waits as long', async () => {
    const files = await loadTerraform();
    const settings = functionSettings(files);
    const defaults = parseConfig(
      Object.fromEntries(REQUIRED_ENV.map((n) => [n, sampleValue(n)])),
      'renewal',
    );
    const renewTimeout = settings.renew_channels!.timeout;
    expect(renewTimeout * 1000).toBeGreaterThan(defaults.renewTimeBudgetMs);
    const job = resource(files, 'google_cloud_scheduler_job', 'renew_channels');
    expect(Number(str(job, 'attempt_deadline').replace(/s$/, ''))).toBeGreaterThanOrEqual(
      renewTimeout,
    );
    // The worker's own backoff budget fits inside its timeout.
    expect(settings.sync_worker!.timeout * 1000).toBeGreaterThan(defaults.retryBudgetMs);
  });
});

describe('cloudbuild.yaml', () => {
  interface Step {
    id?: string;
    name: string;
    entrypoint?: string;
    args?: string[];
    env?: string[];
    dir?: string;
    waitFor?: string[];
  }
  const text = read('cloudbuild.yaml');
  const doc = parseYaml(text) as { steps: Step[]; substitutions?: Record<string, string> };
  const step = (id: string): Step => {
    const s = doc.steps.find((x) => x.id === id);
    if (!s) throw new Error(`no step ${id}`);
    return s;
  };
  const script = (s: Step) => [s.entrypoint ?? '', ...(s.args ?? [])].join(' ');
  const env = (s: Step) => s.env ?? [];

  it('opens with a comment saying what it is for', () => {
    expect(text.split('\n')[0]).toMatch(/^# \S.{10,}/);
  });

  it('installs, lints, builds, tests and deploys, in that order', () => {
    expect(doc.steps.map((s) => s.id)).toEqual(['install', 'lint', 'build', 'test', 'deploy']);
    expect(script(step('install'))).toContain('npm ci');
    expect(script(step('lint'))).toContain('lint');
    expect(script(step('build'))).toContain('npm run build');
    expect(script(step('test'))).toContain('npm test');
    expect(step('test').waitFor).toEqual(expect.arrayContaining(['lint', 'build']));
    expect(step('deploy').waitFor).toEqual(['test']);
  });

  it('runs Node 22 (the nodejs22 runtime) and the tests next to the gcloud emulators', () => {
    for (const id of ['install', 'lint', 'build']) expect(step(id).name).toBe('node:22');
    expect(step('test').name).toMatch(/google-cloud-cli:.*emulators/);
    // A missing emulator fails the build instead of silently skipping the integration suites.
    expect(env(step('test'))).toContain('REQUIRE_EMULATORS=1');
  });

  it('deploys with terraform from infra/, only on the deploy branch, with region/project substitutions', () => {
    const deploy = step('deploy');
    expect(deploy.name).toMatch(/^hashicorp\/terraform:/);
    expect(deploy.dir).toBe('infra');
    const s = script(deploy);
    expect(s).toMatch(/\$BRANCH_NAME" != "\$_DEPLOY_BRANCH"[\s\S]*exit 0/);
    expect(s.indexOf('exit 0')).toBeLessThan(s.indexOf('terraform apply'));
    expect(s).toContain('-backend-config="bucket=${_TF_STATE_BUCKET}"');
    expect(s).toContain('region=${_REGION}');
    expect(doc.substitutions).toMatchObject({ _DEPLOY_BRANCH: 'main' });
    expect(Object.keys(doc.substitutions ?? {})).toEqual(
      expect.arrayContaining(['_REGION', '_PROJECT', '_TF_STATE_BUCKET', '_OAUTH_CLIENT_ID']),
    );
  });

  it('uses the same default region as infra', async () => {
    expect(doc.substitutions?._REGION).toBe(variableDefault(await loadTerraform(), 'region'));
  });

  it('passes any gcloud functions deploy the same runtime and entry points as infra', () => {
    // Deployment is Terraform's; if a gcloud deploy is ever added, it must agree with infra/.
    const targets = Object.values(FUNCTIONS).map((f) => f.target as string);
    for (const s of doc.steps) {
      const body = script(s);
      if (!/functions\s+deploy/.test(body)) continue;
      expect(body).toMatch(/--runtime[= ]nodejs22/);
      const entry = /--entry-point[= ](\w+)/.exec(body)?.[1] ?? '';
      expect(targets).toContain(entry);
    }
  });
});
