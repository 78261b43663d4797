// infra/ parses with HashiCorp's HCL parser and has the shape the design needs (queue, dead letters, OIDC, IAM).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  INFRA,
  ROOT,
  allResources,
  functionSources,
  locals,
  read,
  block,
  functionSettings,
  hasBlock,
  infraFiles,
  labelled,
  loadTerraform,
  num,
  parseHcl,
  resource,
  str,
} from './load.js';

// Parsing every .tf file with the HCL parser (WebAssembly) takes seconds on a loaded machine: once, up front.
beforeAll(() => loadTerraform(), 120_000);

describe('Terraform syntax', () => {
  it('finds the Terraform files', () => {
    expect(infraFiles('.tf')).toEqual(
      expect.arrayContaining([
        'firestore.tf',
        'functions.tf',
        'iam.tf',
        'main.tf',
        'outputs.tf',
        'providers.tf',
        'pubsub.tf',
        'scheduler.tf',
        'secrets.tf',
        'variables.tf',
      ]),
    );
  });

  it('rejects broken HCL (the parser really checks syntax)', async () => {
    await expect(parseHcl('broken.tf', 'resource "a" "b" {\n  x = \n}\n')).rejects.toThrow(
      /broken\.tf:2/,
    );
    await expect(parseHcl('broken.tf', 'locals {\n  x = "${unterminated"\n}\n')).rejects.toThrow();
  });

  const delivery = readdirSync(join(INFRA, 'delivery')).map((f) => `delivery/${f}`);
  for (const name of [...infraFiles('.tf', '.tf.example', '.tfvars.example'), ...delivery]) {
    it(`parses infra/${name}`, async () => {
      const text = readFileSync(join(INFRA, name), 'utf8');
      await expect(parseHcl(name, text)).resolves.toBeTypeOf('object');
      expect(text.split('\n')[0], 'first line says what the file is for').toMatch(/^# \S.{10,}/);
    });
  }

  it('pins the providers and Terraform version', async () => {
    const files = await loadTerraform();
    const tf = files.find((f) => f.name === 'providers.tf');
    const terraform = block(tf!.json, 'terraform');
    expect(str(terraform, 'required_version')).toMatch(/>=\s*1\./);
    const providers = block(terraform, 'required_providers');
    expect(providers.google).toMatchObject({ source: 'hashicorp/google' });
  });
});

describe('Terraform resources', () => {
  it('declares three 2nd gen functions on nodejs22 from one source archive', async () => {
    const files = await loadTerraform();
    const fns = labelled(files, 'resource', 'google_cloudfunctions2_function');
    expect([...fns.keys()]).toEqual(['functions']);
    const fn = fns.get('functions')!;
    expect(fn.for_each).toBe('${local.functions}');
    const build = block(fn, 'build_config');
    expect(build.runtime).toBe('nodejs22');
    const storage = block(block(build, 'source'), 'storage_source');
    expect(str(storage, 'object')).toContain('google_storage_bucket_object.source');
  });

  it('delivers to the worker through a push subscription with OIDC, retries and a dead-letter topic', async () => {
    const files = await loadTerraform();
    const sub = resource(files, 'google_pubsub_subscription', 'sync_worker');
    expect(str(sub, 'topic')).toContain('google_pubsub_topic.notifications');
    const push = block(sub, 'push_config');
    // functions-framework takes the topic from the path when it turns the push body into a CloudEvent.
    expect(str(push, 'push_endpoint')).toMatch(/\/projects\/\$\{var\.project_id\}\/topics\/\$\{/);
    expect(str(push, 'push_endpoint')).toContain('functions["sync_worker"].service_config[0].uri');
    const oidc = block(push, 'oidc_token');
    expect(str(oidc, 'service_account_email')).toContain('google_service_account.pubsub_push');
    expect(str(oidc, 'audience')).toContain('functions["sync_worker"].service_config[0].uri');
    const dlq = block(sub, 'dead_letter_policy');
    expect(str(dlq, 'dead_letter_topic')).toContain('google_pubsub_topic.dead_letter');
    expect(hasBlock(sub, 'retry_policy')).toBe(true);
    expect(block(sub, 'expiration_policy').ttl).toBe('');
    // The dead-letter topic has a subscription, or dead-lettered messages would be dropped.
    const dlqSub = resource(files, 'google_pubsub_subscription', 'dead_letter');
    expect(str(dlqSub, 'topic')).toContain('google_pubsub_topic.dead_letter');
  });

  it('lets the Pub/Sub service agent dead-letter (publisher on the DLQ, subscriber on the source)', async () => {
    const files = await loadTerraform();
    const pub = resource(files, 'google_pubsub_topic_iam_member', 'dead_letter_publisher');
    expect(pub).toMatchObject({
      role: 'roles/pubsub.publisher',
      member: '${local.pubsub_service_agent}',
    });
    const sub = resource(
      files,
      'google_pubsub_subscription_iam_member',
      'dead_letter_source_subscriber',
    );
    expect(sub).toMatchObject({
      role: 'roles/pubsub.subscriber',
      member: '${local.pubsub_service_agent}',
    });
  });

  it('calls renewChannels hourly from Cloud Scheduler with an OIDC token of its own identity', async () => {
    const files = await loadTerraform();
    const job = resource(files, 'google_cloud_scheduler_job', 'renew_channels');
    expect(str(job, 'schedule')).toBe('${var.renew_schedule}');
    const target = block(job, 'http_target');
    expect(str(target, 'uri')).toContain('functions["renew_channels"]');
    expect(str(block(target, 'oidc_token'), 'service_account_email')).toContain(
      'google_service_account.scheduler',
    );
  });

  it('makes only the webhook public; the worker and renewer are invokable by their callers only', async () => {
    const files = await loadTerraform();
    const iam = allResources(files).filter(([type]) => /_iam_(member|binding|policy)$/.test(type));
    const publicGrants = iam.filter(([, , body]) =>
      JSON.stringify(body).match(/allUsers|allAuthenticatedUsers/),
    );
    expect(publicGrants.map(([type, name]) => `${type}.${name}`)).toEqual([
      'google_cloud_run_service_iam_member.webhook_public',
    ]);
    expect(publicGrants[0]![2]).toMatchObject({
      role: 'roles/run.invoker',
      service: '${google_cloudfunctions2_function.functions["webhook"].name}',
    });
    const invokers = iam.filter(([, , b]) => b.role === 'roles/run.invoker');
    const byService = Object.fromEntries(invokers.map(([, , b]) => [str(b, 'service'), b.member]));
    expect(byService).toEqual({
      '${google_cloudfunctions2_function.functions["webhook"].name}': 'allUsers',
      '${google_cloudfunctions2_function.functions["sync_worker"].name}':
        '${google_service_account.pubsub_push.member}',
      '${google_cloudfunctions2_function.functions["renew_channels"].name}':
        '${google_service_account.scheduler.member}',
    });
  });

  it('gives publish rights on the topic to the webhook and the renewer only, Firestore to worker and renewer only', async () => {
    const files = await loadTerraform();
    const publishers = resource(files, 'google_pubsub_topic_iam_member', 'publishers');
    expect(publishers.for_each).toBe('${toset(["webhook", "renew_channels"])}');
    expect(publishers.role).toBe('roles/pubsub.publisher');
    const firestore = resource(files, 'google_project_iam_member', 'firestore_user');
    expect(firestore.for_each).toBe('${toset(["sync_worker", "renew_channels"])}');
    expect(firestore.role).toBe('roles/datastore.user');
    // No primitive roles anywhere.
    for (const [type, name, body] of allResources(files)) {
      expect(String(body.role ?? ''), `${type}.${name}`).not.toMatch(/roles\/(owner|editor)$/);
    }
  });

  it('keeps the ack deadline at least the worker timeout, within Pub/Sub limits', async () => {
    const files = await loadTerraform();
    const sub = resource(files, 'google_pubsub_subscription', 'sync_worker');
    const ack = num(sub, 'ack_deadline_seconds');
    expect(ack).toBeLessThanOrEqual(600);
    expect(ack).toBeGreaterThanOrEqual(functionSettings(files).sync_worker!.timeout);
  });
});

describe('narrower surface (issue 15.7)', () => {
  it('makes the worker and the renewer internal-only (Pub/Sub push and Scheduler still reach them), the webhook public', async () => {
    const files = await loadTerraform();
    const settings = functionSettings(files) as unknown as Record<string, { ingress: string }>;
    expect(settings.webhook!.ingress).toBe('ALLOW_ALL');
    expect(settings.sync_worker!.ingress).toBe('ALLOW_INTERNAL_ONLY');
    expect(settings.renew_channels!.ingress).toBe('ALLOW_INTERNAL_ONLY');
    // The decision cites Google's documentation, and the push endpoint is the run.app URL it requires.
    const tf = files.find((f) => f.name === 'functions.tf')!.text;
    expect(tf).toContain('https://cloud.google.com/run/docs/securing/ingress');
    const push = block(resource(files, 'google_pubsub_subscription', 'sync_worker'), 'push_config');
    expect(str(push, 'push_endpoint')).toMatch(
      /^\$\{google_cloudfunctions2_function\.functions\["sync_worker"\]\.service_config\[0\]\.uri\}/,
    );
  });

  it('refuses CALSYNC_CALENDAR_API_URL / CALSYNC_OAUTH_TOKEN_URL in extra_env', async () => {
    const tf = (await loadTerraform()).find((f) => f.name === 'variables.tf')!.text;
    const block = tf.slice(
      tf.indexOf('variable "extra_env"'),
      tf.indexOf('variable "secret_versions"'),
    );
    expect(block).toContain('"CALSYNC_CALENDAR_API_URL"');
    expect(block).toContain('"CALSYNC_OAUTH_TOKEN_URL"');
  });
});

describe('source archive from an allow-list (issue 15.6)', () => {
  /** The allow-list as Terraform computes it, evaluated here: fileset() patterns and literal files. */
  async function allowList(): Promise<string[]> {
    const files = await loadTerraform();
    const expr = String(locals(files).source_files);
    const globs = [...expr.matchAll(/fileset\([^,]+,\s*"([^"]+)"\)/g)].map((m) => m[1]!);
    expect(globs).toEqual(['functions/**/*.ts']);
    const literal = [...expr.matchAll(/\[([^\]]*)\]/g)].flatMap((m) =>
      [...m[1]!.matchAll(/"([^"]+)"/g)].map((x) => x[1]!),
    );
    return [...functionSources().map((f) => f.path), ...literal].sort();
  }

  it('zips only what the functions need: sources under functions/, package.json, lock file, tsconfig', async () => {
    const files = await loadTerraform();
    const data = labelled(files, 'data', 'archive_file').get('source')!;
    expect(data.excludes, 'a deny-list lets new files in').toBeUndefined();
    expect(data.source_dir).toBeUndefined();
    expect(JSON.stringify(data.dynamic)).toContain('local.source_files');
    const list = await allowList();
    for (const f of [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'functions/index.ts',
    ]) {
      expect(list).toContain(f);
    }
    for (const f of list) {
      expect(existsSync(join(ROOT, f)), f).toBe(true);
      expect(f).not.toMatch(/^(test|scripts|infra|docs|\.calsync|\.ci)\//);
    }
  });

  it('holds everything the build compiles and every package the functions import at run time', async () => {
    const list = new Set(await allowList());
    const build = JSON.parse(read('tsconfig.build.json')) as { include: string[] };
    expect(build.include).toEqual(['functions']);
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    for (const { path, text } of functionSources()) {
      for (const m of text.matchAll(/(?:from|import\()\s*'([^']+)'/g)) {
        const spec = m[1]!;
        if (spec.startsWith('node:')) continue;
        if (spec.startsWith('.')) {
          const target = join(path, '..', spec).replace(/\.js$/, '.ts');
          expect(list.has(target), `${path} imports ${spec}`).toBe(true);
          continue;
        }
        const name = spec.startsWith('@')
          ? spec.split('/').slice(0, 2).join('/')
          : spec.split('/')[0]!;
        // `import type` of a dev-only package would be erased; nothing at run time may need one.
        if (new RegExp(`import type[^;]*'${spec}'`).test(text)) continue;
        expect(pkg.dependencies, `${path} imports ${name}`).toHaveProperty([name]);
      }
    }
  });
});

describe('alerts and dashboard as code (issue 15.8)', () => {
  it('alerts on a non-empty dead-letter subscription, stale calendars, failed syncs and renewal runs at their budget', async () => {
    const files = await loadTerraform();
    const policies = labelled(files, 'resource', 'google_monitoring_alert_policy');
    expect([...policies.keys()].sort()).toEqual([
      'dead_letter',
      'failed_syncs',
      'renewal_budget',
      'stale_calendars',
    ]);
    const filterOf = (name: string) =>
      str(block(block(policies.get(name)!, 'conditions'), 'condition_threshold'), 'filter');
    expect(filterOf('dead_letter')).toContain('google_pubsub_subscription.dead_letter.name');
    expect(filterOf('dead_letter')).toContain('num_undelivered_messages');
    expect(filterOf('failed_syncs')).toContain('local.metric_type.sync_results');
    expect(filterOf('failed_syncs')).toMatch(/one_of\(\\?"error\\?", \\?"failed\\?"\)/);
    expect(filterOf('stale_calendars')).toContain('local.metric_type.stale_calendars');
    expect(filterOf('renewal_budget')).toContain('local.metric_type.renewal_budget_used');
    for (const p of policies.values()) {
      expect(p.notification_channels).toBe('${var.alert_notification_channels}');
    }
    expect([...labelled(files, 'resource', 'google_monitoring_dashboard').keys()]).toEqual([
      'calsync',
    ]);
  });
});
