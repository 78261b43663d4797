// infra/ and cloudbuild.yaml agree with the code: entry points, runtime, environment and secret names, topic.
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig, type Role } from '../../../functions/config.js';
import {
  allResources,
  block,
  configVariableNames,
  hasBlock,
  functionSettings,
  isBody,
  loadTerraform,
  locals,
  read,
  resource,
  sourcesContaining,
  str,
  variableDefault,
} from './load.js';
import { WORKER_NODE_OPTIONS } from '../../bench/worker-flags.js';
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
  if (name === 'NODE_OPTIONS') return WORKER_NODE_OPTIONS; // read by Node, not by parseConfig
  throw new Error(`no sample value for ${name}: add one (and check config.ts reads it)`);
}

// Parsing every .tf file with the HCL parser (WebAssembly) takes seconds on a loaded machine: once, up front.
beforeAll(() => Promise.all([loadTerraform(), loadTerraform('delivery')]), 120_000);

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

  /** Deployed targets functions/index.ts does not register with the matching signature. */
  const missingTargets = (source: string) =>
    Object.values(FUNCTIONS)
      .filter(
        (f) =>
          !new RegExp(`\\b${f.signature}\\s*(?:<[^>]*>)?\\(\\s*['"]${f.target}['"]`).test(source),
      )
      .map((f) => f.target);

  it('registers every deployed target in functions/index.ts', () => {
    expect(missingTargets(read('functions/index.ts'))).toEqual([]);
  });

  it('the registration check fails when a target is missing or registered with another signature', () => {
    const source = read('functions/index.ts');
    expect(
      missingTargets(source.replace(/ff\.http\('renewChannels'/, "ff.http('renewAll'")),
    ).toEqual(['renewChannels']);
    expect(
      missingTargets(source.replace("ff.cloudEvent('syncWorker'", "ff.http('syncWorker'")),
    ).toEqual(['syncWorker']);
    expect(missingTargets('')).toEqual(['webhook', 'syncWorker', 'renewChannels']);
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
    // NODE_OPTIONS is Node's own (the worker's heap cap), checked on its own below.
    used.delete('NODE_OPTIONS');
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

  it('lets no function read a secret it never uses', async () => {
    const { secrets } = await infraConfig();
    // webhook: verifies tokens (current + previous secret). Worker and renewer sign the tokens of
    // channels they open (current secret only: they never verify one), decrypt refresh tokens
    // (current + previous token key) and refresh access tokens (OAuth client secret).
    expect(secrets.webhook.sort()).toEqual([
      'CALSYNC_CHANNEL_SECRET',
      'CALSYNC_CHANNEL_SECRET_PREVIOUS',
    ]);
    const signsDecryptsRefreshes = [
      'CALSYNC_CHANNEL_SECRET',
      'CALSYNC_TOKEN_KEY',
      'CALSYNC_TOKEN_KEY_PREVIOUS',
      'GOOGLE_OAUTH_CLIENT_SECRET',
    ];
    expect(secrets.sync_worker.sort()).toEqual(signsDecryptsRefreshes);
    expect(secrets.renew_channels.sort()).toEqual(signsDecryptsRefreshes);
    // Only the webhook code verifies channel tokens, the one use of the previous channel secret.
    const verifiers = sourcesContaining(/(?<!function )\bverifyChannelToken\(/);
    expect(verifiers).toEqual(['functions/webhook/handler.ts']);
  });

  it('runs the worker with the V8 heap cap the memory benchmark measured (full_sync.big_peak_rss_mb)', async () => {
    const files = await loadTerraform();
    const env = stringMap(locals(files).function_env, 'local.function_env');
    const worker = stringMap(env.sync_worker, 'local.function_env.sync_worker');
    expect(worker.NODE_OPTIONS).toBe(WORKER_NODE_OPTIONS);
    // The cap must leave the 512 MiB instance room for two syncs' young generation and buffers.
    const cap = Number(/--max-old-space-size=(\d+)/.exec(WORKER_NODE_OPTIONS)?.[1]);
    const memory = Number(/^(\d+)Mi$/.exec(functionSettings(files).sync_worker!.memory)?.[1]);
    expect(cap).toBeGreaterThan(0);
    expect(cap).toBeLessThanOrEqual(memory / 2);
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

interface Step {
  id?: string;
  name: string;
  entrypoint?: string;
  args?: string[];
  env?: string[];
  dir?: string;
  waitFor?: string[];
}
interface BuildFile {
  steps: Step[];
  substitutions?: Record<string, string>;
  options?: Record<string, unknown>;
}
const build = (file: string) => {
  const text = read(file);
  const doc = parseYaml(text) as BuildFile;
  const step = (id: string): Step => {
    const st = doc.steps.find((x) => x.id === id);
    if (!st) throw new Error(`no step ${id} in ${file}`);
    return st;
  };
  return { text, doc, step };
};
const script = (st: Step) => [st.entrypoint ?? '', ...(st.args ?? [])].join(' ');
/** An image reference pinned to a content digest (a moved tag cannot change what runs). */
const PINNED = /^[\w./:-]+@sha256:[0-9a-f]{64}$/;

describe('cloudbuild.yaml (test build: every branch, no deploy rights)', () => {
  const { text, doc, step } = build('cloudbuild.yaml');

  it('opens with a comment saying what it is for', () => {
    expect(text.split('\n')[0]).toMatch(/^# \S.{10,}/);
  });

  it('installs, lints, builds and tests — and deploys nothing', () => {
    expect(doc.steps.map((st) => st.id)).toEqual(['install', 'lint', 'build', 'test']);
    expect(script(step('install'))).toContain('npm ci');
    expect(script(step('lint'))).toContain('lint');
    expect(script(step('build'))).toContain('npm run build');
    expect(script(step('test'))).toContain('npm test');
    expect(step('test').waitFor).toEqual(expect.arrayContaining(['lint', 'build']));
    for (const st of doc.steps) {
      expect(st.name, st.id).not.toMatch(/terraform/);
      expect(script(st), st.id).not.toMatch(
        /terraform|\bdeploy\b|gcloud\s+(functions|run|builds|secrets|iam|projects)\b/,
      );
    }
  });

  it('runs Node 22 (the nodejs22 runtime) and the tests next to the gcloud emulators, images pinned by digest', () => {
    for (const id of ['install', 'lint', 'build'])
      expect(step(id).name).toMatch(/^node:22@sha256:/);
    expect(step('test').name).toMatch(/google-cloud-cli:emulators@sha256:/);
    for (const st of doc.steps) expect(st.name, st.id).toMatch(PINNED);
    // A missing emulator fails the build instead of silently skipping the integration suites.
    expect(step('test').env ?? []).toContain('REQUIRE_EMULATORS=1');
  });
});

describe('cloudbuild.deploy.yaml (deploy build: main only, its own identity)', () => {
  const { text, doc, step } = build('cloudbuild.deploy.yaml');

  it('opens with a comment saying what it is for', () => {
    expect(text.split('\n')[0]).toMatch(/^# \S.{10,}/);
  });

  it('only plans and applies infra/ with a pinned Terraform image — no npm, no project code', () => {
    expect(doc.steps.map((st) => st.id)).toEqual(['deploy']);
    const deploy = step('deploy');
    expect(deploy.name).toMatch(/^hashicorp\/terraform:[\d.]+@sha256:[0-9a-f]{64}$/);
    expect(deploy.dir).toBe('infra');
    const s = script(deploy);
    expect(s).not.toMatch(/\bnpm\b|\bnode\b|\bnpx\b|\btsx\b/);
    expect(s).toContain('-backend-config="bucket=${_TF_STATE_BUCKET}"');
    expect(s).toContain('region=${_REGION}');
    expect(s.indexOf('terraform plan')).toBeLessThan(s.indexOf('terraform apply'));
    // Refuses a manual submit from elsewhere (the trigger's branch filter is the real gate).
    expect(s).toMatch(/\$BRANCH_NAME" != "\$\{_DEPLOY_BRANCH\}"[\s\S]*exit 1[\s\S]*terraform init/);
    expect(doc.options?.logging).toBe('CLOUD_LOGGING_ONLY'); // required with a user-chosen service account
  });

  it('uses the same default region as infra', async () => {
    expect(doc.substitutions?._REGION).toBe(variableDefault(await loadTerraform(), 'region'));
    expect(doc.substitutions?._DEPLOY_BRANCH).toBe('main');
  });
});

describe('infra/delivery (triggers and build identities, applied by an owner)', () => {
  const delivery = async () => loadTerraform('delivery');

  it('starts the deploy build only from main (branch filter in Terraform), as the deployer', async () => {
    const files = await delivery();
    const deploy = resource(files, 'google_cloudbuild_trigger', 'deploy');
    expect(deploy.filename).toBe('cloudbuild.deploy.yaml');
    expect(deploy.service_account).toBe('${google_service_account.deployer.id}');
    const push = block(block(deploy, 'github'), 'push');
    expect(push.branch).toBe('^${var.deploy_branch}$');
    expect(variableDefault(files, 'deploy_branch')).toBe('main');
    expect(hasBlock(block(deploy, 'github'), 'pull_request')).toBe(false);
  });

  it('runs the test build on every branch and pull request as an identity that can only write logs', async () => {
    const files = await delivery();
    for (const name of ['test', 'test_pull_requests']) {
      const t = resource(files, 'google_cloudbuild_trigger', name);
      expect(t.filename).toBe('cloudbuild.yaml');
      expect(t.service_account).toBe('${google_service_account.ci_test.id}');
    }
    const grants = allResources(files).filter(([, , b]) =>
      JSON.stringify(b).includes('google_service_account.ci_test.member'),
    );
    expect(grants.map(([, , b]) => b.role)).toEqual(['roles/logging.logWriter']);
  });

  it("gives the deployer no primitive role, project IAM only for calsync's roles, secrets without their values", async () => {
    const files = await delivery();
    const roles = locals(files).deployer_roles as string[];
    expect(roles.length).toBeGreaterThan(5);
    for (const r of roles)
      expect(r).not.toMatch(
        /roles\/(owner|editor|secretmanager\.admin|secretmanager\.secretAccessor|iam\.securityAdmin)$/,
      );
    const grants = resource(files, 'google_project_iam_member', 'deployer_grants');
    expect(grants.role).toBe('roles/resourcemanager.projectIamAdmin');
    expect(str(block(grants, 'condition'), 'expression')).toContain('modifiedGrantsByRole');
    const custom = resource(files, 'google_project_iam_custom_role', 'secret_containers');
    expect(custom.permissions as string[]).not.toContain('secretmanager.versions.access');
    // Every project-level role infra/ grants is one the deployer may grant.
    const granted = allResources(await loadTerraform())
      .filter(([type]) => type === 'google_project_iam_member')
      .flatMap(([, , b]) => {
        const fe = String(b.for_each ?? '');
        const listed = [...fe.matchAll(/"(roles\/[^"]+)"/g)].map((m) => m[1]!);
        return listed.length > 0 ? listed : [String(b.role)];
      })
      .filter((r) => r.startsWith('roles/'));
    const grantable = locals(files).grantable_roles as string[];
    for (const r of granted) expect(grantable, r).toContain(r);
  });
});
