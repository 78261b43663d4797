// Measures the webhook's cold module load in fresh Node processes and checks it pulls in neither Firestore nor the Calendar client.
// Usage: npx tsx test/bench/webhook-load.ts [runs]   (compiles functions/ to node_modules/.cache first)
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const out = join(root, 'node_modules/.cache/calsync-webhook-load');
const runs = Number(process.argv[2] ?? 15);

rmSync(out, { recursive: true, force: true });
try {
  execFileSync(
    join(root, 'node_modules/.bin/tsc'),
    ['-p', 'tsconfig.build.json', '--outDir', out, '--sourceMap', 'false'],
    { cwd: root, stdio: 'pipe' },
  );
} catch {
  // Type errors elsewhere in the tree do not stop tsc from emitting; the files we load are checked below.
}

/** Loads one module in this fresh process and reports time and which heavy libraries came with it. */
const probe = (file: string) => `
const t0 = performance.now();
await import(${JSON.stringify(file)});
const ms = performance.now() - t0;
const { createRequire } = await import('node:module');
const cache = Object.keys(createRequire(import.meta.url).cache);
const has = (s) => cache.some((k) => k.includes(s));
console.log(JSON.stringify({ ms, node: process.version,
  firestore: has('/@google-cloud/firestore/'), calendar: has('/@googleapis/calendar/') || has('/googleapis-common/'),
  pubsub: has('/@google-cloud/pubsub/'), functionsFramework: has('/@google-cloud/functions-framework/') }));
`;

interface Sample {
  ms: number;
  node: string;
  firestore: boolean;
  calendar: boolean;
  pubsub: boolean;
  functionsFramework: boolean;
}

function measure(file: string): { median: number; min: number; max: number; last: Sample } {
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', probe(file)], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    samples.push(JSON.parse(stdout.trim().split('\n').at(-1) as string) as Sample);
  }
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  return {
    median: sorted[Math.floor(sorted.length / 2)] as number,
    min: sorted[0] as number,
    max: sorted.at(-1) as number,
    last: samples.at(-1) as Sample,
  };
}

const targets: [string, string][] = [
  ['functions/webhook/function.js', join(out, 'functions/webhook/function.js')],
  ['functions/index.js (entry, with functions-framework)', join(out, 'functions/index.js')],
  ['@google-cloud/pubsub (loaded on first publish)', '@google-cloud/pubsub'],
];
for (const [name, file] of targets) {
  const r = measure(file);
  const { firestore, calendar, pubsub, functionsFramework, node } = r.last;
  console.log(
    `${name}: median ${r.median.toFixed(1)} ms (min ${r.min.toFixed(1)}, max ${r.max.toFixed(1)}, ${runs} fresh ${node} processes)` +
      ` — loads firestore=${firestore} calendar=${calendar} pubsub=${pubsub} functions-framework=${functionsFramework}`,
  );
}
