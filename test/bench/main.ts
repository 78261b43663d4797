// `npm run bench [-- --quick] [--json] [--only a,b] [--cpu-prof DIR]`: every benchmark of issue 9, calsync against its baseline in the same run; a table, then (with --json) one JSON line last.
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { startEmulator, type RunningEmulator } from '../harness/emulators.js';
import { buildFunctions, buildIsStale } from '../stack/local-stack.js';
import { benchColdStart } from './cold-start.js';
import type { BenchContext, BenchResult } from './lib.js';
import { benchPipeline } from './pipeline.js';
import { benchQuota } from './quota.js';
import { benchRenewal } from './renewal.js';
import { benchRollFanOut } from './roll-fanout.js';
import { benchSync } from './sync.js';
import { benchWebhook } from './webhook.js';

/** The JSON keys, in the order: the line always has exactly these. */
export const KEYS = [
  'webhook.rps',
  'webhook.p99_ms',
  'webhook.naive_rps',
  'webhook.naive_p99_ms',
  'webhook.hello_rps',
  'webhook.ratio_vs_naive',
  'webhook.ratio_vs_hello',
  'coalescing.notifications',
  'coalescing.list_sequences',
  'full_sync.events',
  'full_sync.events_per_s',
  'full_sync.docs_per_s',
  'full_sync.raw_write_docs_per_s',
  'full_sync.ratio_vs_raw',
  'full_sync.cpu_ceiling_ratio',
  'full_sync.peak_rss_mb',
  'full_sync.big_events',
  'full_sync.big_peak_rss_mb',
  'resync_410.events',
  'resync_410.changed',
  'resync_410.event_writes',
  'resync_410.listener_changes',
  'renewal.subscriptions',
  'renewal.seconds',
  'renewal.lapsed',
  'roll.calendars',
  'roll.reads_per_calendar',
  'roll.writes_per_calendar',
  'roll.ms_per_calendar',
  'roll.fanout_calendars',
  'roll.fanout_ms_per_calendar',
  'cold_start.webhook_ms',
  'cold_start.sync_worker_ms',
  'cold_start.renew_channels_ms',
  'quota.calendars',
  'quota.calls_per_calendar_day',
  'quota.syncs',
  'quota.token_refreshes_per_sync',
  'e2e.p50_ms',
  'e2e.p99_ms',
] as const;

type Key = (typeof KEYS)[number];

/** Targets from the issue: [key, test (undefined: not measurable in this run), description]. */
const TARGETS: [Key, (v: Record<string, number>) => boolean | undefined, string][] = [
  [
    'webhook.ratio_vs_naive',
    (v) => v['webhook.ratio_vs_naive']! >= 1 && v['webhook.p99_ms']! <= v['webhook.naive_p99_ms']!,
    '≥ 1.0 and p99 ≤ naive p99',
  ],
  ['coalescing.list_sequences', (v) => v['coalescing.list_sequences']! <= 2, '≤ 2'],
  ['full_sync.ratio_vs_raw', (v) => v['full_sync.ratio_vs_raw']! >= 0.7, '≥ 0.7'],
  ['full_sync.peak_rss_mb', (v) => v['full_sync.peak_rss_mb']! <= 256, '≤ 256'],
  ['full_sync.big_peak_rss_mb', (v) => v['full_sync.big_peak_rss_mb']! <= 256, '≤ 256'],
  [
    'resync_410.event_writes',
    (v) =>
      v['resync_410.event_writes']! <= v['resync_410.changed']! + 2 &&
      v['resync_410.listener_changes']! <= v['resync_410.changed']! + 2,
    'writes and listener changes ≤ changed + 2',
  ],
  [
    'renewal.seconds',
    // Issue 14.6: the subscriptions due in one hourly run inside its 480 s budget (CALSYNC_RENEW_TIME_BUDGET_SECONDS).
    (v) => v['renewal.seconds']! <= 480 && v['renewal.lapsed'] === 0,
    '≤ 480 s (one run), lapsed = 0',
  ],
  [
    'roll.fanout_ms_per_calendar',
    // Issue 14.8 at 1.8 M calendars: ~10,700 renewals and ~75,000 rolls queued in one hourly run,
    // at the rates this run measured, inside the 480 s budget (decision 011).
    (v) =>
      // Needs the full renewal bench in the same run: 100 renewals (--quick) are mostly start-up.
      v['renewal.seconds'] == null || v['renewal.subscriptions']! < 10_000
        ? undefined
        : (v['renewal.seconds'] / v['renewal.subscriptions']!) * 10_700 +
            (75_000 * v['roll.fanout_ms_per_calendar']!) / 1000 <=
          480,
    '10,700 renewals + 75,000 rolls queued ≤ 480 s',
  ],
  ['cold_start.webhook_ms', (v) => v['cold_start.webhook_ms']! <= 150, '≤ 150'],
  ['webhook.ratio_vs_hello', (v) => v['webhook.ratio_vs_hello']! >= 0.5, '≥ 0.5 (issue 14)'],
  [
    'quota.calls_per_calendar_day',
    (v) => v['quota.calls_per_calendar_day']! <= 8,
    '≤ 8 (issue 14)',
  ],
  [
    'quota.token_refreshes_per_sync',
    (v) => v['quota.token_refreshes_per_sync']! <= 0.1,
    '≤ 0.1 (issue 14)',
  ],
  ['e2e.p50_ms', (v) => v['e2e.p50_ms']! <= 1000, 'p50 ≤ 1000'],
];

const BENCHES: Record<string, (ctx: BenchContext) => Promise<BenchResult>> = {
  cold_start: benchColdStart,
  webhook: benchWebhook,
  pipeline: benchPipeline, // e2e + coalescing
  sync: benchSync, // full_sync + resync_410
  renewal: benchRenewal,
  roll_fanout: benchRollFanOut,
  quota: benchQuota,
};

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const json = process.argv.includes('--json');
  const only = arg('--only')?.split(',');
  const started = Date.now();
  const ctx: BenchContext = {
    quick,
    log: (line) =>
      process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${line}\n`),
  };
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const profileDir = arg('--cpu-prof');
  if (profileDir) {
    // Every function process the stacks start writes a V8 CPU profile there when it stops.
    process.env.NODE_OPTIONS = [
      process.env.NODE_OPTIONS ?? '',
      '--cpu-prof',
      `--cpu-prof-dir=${resolve(profileDir)}`,
    ].join(' ');
    ctx.log(`CPU profiles of the function processes go to ${resolve(profileDir)}`);
  }

  if (buildIsStale()) {
    ctx.log('building functions/ to dist/');
    try {
      buildFunctions();
    } catch (err) {
      // tsc still emits on type errors elsewhere in the tree; the benchmark runs what was emitted.
      ctx.log(`build reported errors (running what was emitted): ${String(err)}`);
    }
  }
  const emulators: RunningEmulator[] = [];
  if (!process.env.FIRESTORE_EMULATOR_HOST || !process.env.PUBSUB_EMULATOR_HOST) {
    ctx.log('starting the Firestore and Pub/Sub emulators');
    const [fs, ps] = await Promise.all([startEmulator('firestore'), startEmulator('pubsub')]);
    emulators.push(fs, ps);
    process.env.FIRESTORE_EMULATOR_HOST = fs.host;
    process.env.PUBSUB_EMULATOR_HOST = ps.host;
  }

  const values: Partial<Record<Key, number>> = {};
  const notes: string[] = [];
  try {
    for (const [name, bench] of Object.entries(BENCHES)) {
      if (only && !only.includes(name)) continue;
      ctx.log(`— ${name}`);
      const t = Date.now();
      try {
        const r = await bench(ctx);
        Object.assign(values, r.values);
        notes.push(...r.notes.map((n) => `${name}: ${n}`));
      } catch (err) {
        notes.push(
          `${name}: FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
        );
        ctx.log(`${name} failed: ${String(err)}`);
      }
      ctx.log(`${name} took ${((Date.now() - t) / 1000).toFixed(0)} s`);
    }
  } finally {
    await Promise.all(emulators.map((e) => e.stop()));
  }

  const out: Record<string, number | null> = {};
  for (const k of KEYS) out[k] = values[k] ?? null;
  printTable(out, notes, { quick, seconds: (Date.now() - started) / 1000 });
  if (json) console.log(JSON.stringify(out));
}

function printTable(
  v: Record<string, number | null>,
  notes: string[],
  run: { quick: boolean; seconds: number },
): void {
  const verdict = new Map<string, string>();
  for (const [key, test, what] of TARGETS) {
    const ok = v[key] === null ? undefined : test(v as Record<string, number>);
    verdict.set(key, `${ok === undefined ? 'n/a' : ok ? 'met' : 'MISSED'} (${what})`);
  }
  const width = Math.max(...KEYS.map((k) => k.length));
  console.log(
    `calsync benchmarks${run.quick ? ' (--quick sizes)' : ''} — ${new Date().toISOString().slice(0, 10)}, ` +
      `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${run.seconds.toFixed(0)} s`,
  );
  for (const k of KEYS) {
    const value = v[k] === null ? '—' : String(v[k]);
    console.log(`  ${k.padEnd(width)}  ${value.padStart(9)}  ${verdict.get(k) ?? ''}`);
  }
  if (notes.length > 0) {
    console.log('notes:');
    for (const n of notes) console.log(`  - ${n}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
