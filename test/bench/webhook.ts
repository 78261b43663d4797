// webhook.*: notifications/s and p99 of the real webhook target vs a naive publish-per-request handler and a bare 204 handler, loaded by autocannon from a second process.
import { join } from 'node:path';
import { signChannelToken } from '../../functions/channels/token.js';
import { subscriptionIdFor } from '../../functions/ids.js';
import { freePort } from '../harness/emulators.js';
import { spawnManaged, waitFor, type ManagedProcess } from '../harness/processes.js';
import { REPO_ROOT, startLocalStack } from '../stack/local-stack.js';
import {
  BENCH_DIR,
  lastJsonLine,
  round,
  runNode,
  type BenchContext,
  type BenchResult,
  stopFunctionsGently,
} from './lib.js';

interface LoadResult {
  ok: number;
  non2xx: number;
  errors: number;
  durationS: number;
  rps: number;
  p50: number;
  p99: number;
}

const FF_BIN = join(REPO_ROOT, 'node_modules', '.bin', 'functions-framework');

/** Serves one baseline handler from test/bench/baselines/ under functions-framework (TypeScript via tsx). */
async function serveBaseline(
  target: 'naive' | 'hello',
  env: Record<string, string>,
): Promise<{ url: string; proc: ManagedProcess }> {
  const port = await freePort();
  const proc = spawnManaged(
    FF_BIN,
    [
      `--target=${target}`,
      '--signature-type=http',
      `--port=${port}`,
      `--source=${join(BENCH_DIR, 'baselines', `${target}.ts`)}`,
    ],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        ...env,
        NODE_OPTIONS: '--import tsx',
        PATH: `${join(REPO_ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
      },
    },
  );
  const url = `http://127.0.0.1:${port}/`;
  await waitFor(
    `baseline ${target}`,
    async () => (await fetch(url, { method: 'POST' })).status < 500,
    proc,
  );
  return { url, proc };
}

async function load(
  url: string,
  headers: Record<string, string>,
  durationS: number,
  connections: number,
): Promise<LoadResult> {
  const out = await runNode(
    [
      '--import',
      'tsx',
      join(BENCH_DIR, 'load.ts'),
      JSON.stringify({ url, connections, durationS, headers }),
    ],
    { ...process.env, NODE_OPTIONS: '' },
  );
  return lastJsonLine<LoadResult>(out);
}

export async function benchWebhook(ctx: BenchContext): Promise<BenchResult> {
  const durationS = ctx.quick ? 3 : 10;
  const rounds = ctx.quick ? 1 : 2;
  const connections = 50;
  const stack = await startLocalStack({ targets: ['webhook'], build: false });
  const baselines: { url: string; proc: ManagedProcess }[] = [];
  try {
    const naive = await serveBaseline('naive', stack.env);
    baselines.push(naive);
    const hello = await serveBaseline('hello', stack.env);
    baselines.push(hello);

    const channelId = 'bench-channel-0001';
    const subscriptionId = subscriptionIdFor('bench-user', 'bench@calsync.test');
    const secret = Buffer.from(stack.env.CALSYNC_CHANNEL_SECRET ?? '', 'utf8');
    const headers: Record<string, string> = {
      'user-agent': 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)',
      'x-goog-channel-id': channelId,
      'x-goog-channel-token': signChannelToken(secret, channelId, subscriptionId),
      'x-goog-channel-expiration': new Date(Date.now() + 7 * 86_400_000).toUTCString(),
      'x-goog-resource-id': 'bench-resource-id-0001',
      'x-goog-resource-state': 'exists',
      'x-goog-resource-uri':
        'https://www.googleapis.com/calendar/v3/calendars/bench%40calsync.test/events?alt=json',
      'x-goog-message-number': '1234567',
    };
    const targets = {
      hello: hello.url,
      naive: naive.url,
      calsync: stack.urls.webhook,
    } as const;

    // Warm-up: loads the Pub/Sub client, opens gRPC channels, JITs the handlers.
    for (const url of Object.values(targets)) {
      await load(url, headers, ctx.quick ? 1 : 2, connections);
    }

    const best: Partial<Record<keyof typeof targets, LoadResult>> = {};
    for (let r = 0; r < rounds; r++) {
      for (const name of Object.keys(targets) as (keyof typeof targets)[]) {
        const res = await load(targets[name], headers, durationS, connections);
        ctx.log(
          `webhook round ${r + 1} ${name}: ${round(res.rps, 0)} rps, p99 ${res.p99} ms, non-2xx ${res.non2xx}, errors ${res.errors}`,
        );
        if (!best[name] || res.rps > (best[name]?.rps ?? 0)) best[name] = res;
      }
    }
    const c = best.calsync as LoadResult;
    const n = best.naive as LoadResult;
    const h = best.hello as LoadResult;
    const notes = [
      `${connections} connections × ${durationS} s per target, ${rounds} round(s), best round kept; p50 calsync ${c.p50} ms, naive ${n.p50} ms, hello ${h.p50} ms`,
    ];
    for (const [name, r] of Object.entries(best)) {
      if (r && (r.non2xx > 0 || r.errors > 0)) {
        notes.push(`WARNING ${name}: ${r.non2xx} non-2xx answers, ${r.errors} errors/timeouts`);
      }
    }
    return {
      values: {
        'webhook.rps': round(c.rps, 0),
        'webhook.p99_ms': c.p99,
        'webhook.naive_rps': round(n.rps, 0),
        'webhook.naive_p99_ms': n.p99,
        'webhook.hello_rps': round(h.rps, 0),
        'webhook.ratio_vs_naive': round(c.rps / n.rps, 2),
        'webhook.ratio_vs_hello': round(c.rps / h.rps, 2),
      },
      notes,
    };
  } finally {
    await Promise.all(baselines.map((b) => b.proc.stop()));
    await stopFunctionsGently(stack);
    await stack.stop();
  }
}
