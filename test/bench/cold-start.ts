// cold_start.*: module load time of each built function (dist/) in fresh Node processes, median of several.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../stack/local-stack.js';
import {
  lastJsonLine,
  median,
  round,
  runNode,
  type BenchContext,
  type BenchResult,
} from './lib.js';

/** Imports one module in a fresh process and prints how long the import took. */
const probe = (specifier: string) => `
const t0 = performance.now();
await import(${JSON.stringify(specifier)});
console.log(JSON.stringify({ ms: performance.now() - t0 }));
`;

async function loadMs(specifier: string, runs: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = await runNode(['--input-type=module', '-e', probe(specifier)], {
      ...process.env,
      NODE_OPTIONS: '', // no tsx loader: what Cloud Functions runs
    });
    samples.push(lastJsonLine<{ ms: number }>(out).ms);
  }
  return median(samples);
}

const dist = (path: string) => pathToFileURL(join(REPO_ROOT, 'dist', 'functions', path)).href;

export async function benchColdStart(ctx: BenchContext): Promise<BenchResult> {
  const runs = ctx.quick ? 3 : 11;
  ctx.log(`cold_start: ${runs} fresh processes per module`);
  const webhook = await loadMs(dist('webhook/function.js'), runs);
  const worker = await loadMs(dist('worker/function.js'), runs);
  const renewal = await loadMs(dist('renewal/function.js'), runs);
  const notes: string[] = [];
  if (!ctx.quick) {
    const framework = await loadMs('@google-cloud/functions-framework', runs);
    const calendar = await loadMs('@googleapis/calendar', runs);
    notes.push(
      `reference: functions-framework alone ${round(framework)} ms, @googleapis/calendar alone ${round(calendar)} ms (median of ${runs})`,
    );
  }
  if (existsSync(join(REPO_ROOT, 'node_modules', 'googleapis', 'package.json'))) {
    notes.push(`full googleapis: ${round(await loadMs('googleapis', runs))} ms`);
  } else {
    notes.push(
      'full googleapis not installed (240 MB; not measured here — the lead measured 1,658 ms vs 150 ms for @googleapis/calendar)',
    );
  }
  return {
    values: {
      'cold_start.webhook_ms': round(webhook),
      'cold_start.sync_worker_ms': round(worker),
      'cold_start.renew_channels_ms': round(renewal),
    },
    notes,
  };
}
