// Shared helpers for `npm run bench`: statistics, waiting, child Node processes, Pub/Sub push bodies, request-log classification.
import { existsSync } from 'node:fs';
import { childPidOf } from './proc.js';
import { join } from 'node:path';
import { runToExit } from '../harness/processes.js';
import type { RequestLogEntry } from '../simulator/client.js';
import { REPO_ROOT, type LocalStack } from '../stack/local-stack.js';

export interface BenchContext {
  quick: boolean;
  /** Progress line on stderr (stdout is kept for the table and the JSON line). */
  log(line: string): void;
}

/** Numbers for the JSON line, plus human-only notes for the table. */
export interface BenchResult {
  values: Record<string, number>;
  notes: string[];
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}

/** Nearest-rank percentile of an unsorted sample. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

export const round = (x: number, digits = 1) => Number(x.toFixed(digits));

export async function waitUntil(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return true;
    await sleep(intervalMs);
  }
  return predicate();
}

/** Resolves once `counter()` has not moved for `quietMs` (or after `timeoutMs`). */
export async function waitQuiet(
  counter: () => number | Promise<number>,
  quietMs: number,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = await counter();
  let since = Date.now();
  while (Date.now() < deadline) {
    await sleep(100);
    const now = await counter();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      return;
    }
  }
}

export async function pool<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i] as T, i);
      }
    }),
  );
}

/** Runs `node args` with the Node 22 running this benchmark; resolves with stdout (rejects on non-zero exit). */
export function runNode(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  return runToExit(process.execPath, args, { name: `node ${args.join(' ')}`, cwd: REPO_ROOT, env });
}

/** The last line of a child's stdout, parsed as JSON. */
export function lastJsonLine<T>(stdout: string): T {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as T;
}

export { childPidOf, cpuSecondsOf, memoryOf, pidListeningOn } from './proc.js';

/** A Pub/Sub push request body, as the emulator (and Google) POSTs it to the worker. */
export function pushBody(
  projectId: string,
  subscription: string,
  message: unknown,
  messageId: string,
): string {
  return JSON.stringify({
    message: {
      data: Buffer.from(JSON.stringify(message), 'utf8').toString('base64'),
      messageId,
      publishTime: new Date().toISOString(),
      attributes: {},
    },
    subscription: `projects/${projectId}/subscriptions/${subscription}`,
  });
}

/** POSTs one push delivery to the worker (functions-framework turns it into a CloudEvent); returns the status. */
export async function deliver(
  workerUrl: string,
  projectId: string,
  topic: string,
  body: string,
): Promise<number> {
  const res = await fetch(`${workerUrl}projects/${projectId}/topics/${topic}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(3_600_000),
  });
  await res.arrayBuffer();
  return res.status;
}

/** Google's method name for a logged simulator request (e.g. `events.list`), or the raw path. */
export function endpointOf(r: RequestLogEntry): string {
  const path = decodeURIComponent(r.path);
  if (path === '/token') return 'oauth.token';
  const m = /^\/calendar\/v3\/(.*)$/.exec(path);
  if (!m) return `${r.method} ${path}`;
  const rest = m[1] as string;
  if (rest === 'channels/stop') return 'channels.stop';
  if (rest.startsWith('users/me/calendarList')) {
    return rest.endsWith('/watch') ? 'calendarList.watch' : 'calendarList.list';
  }
  if (/^calendars\/[^/]+\/events\/watch$/.test(rest)) return 'events.watch';
  if (/^calendars\/[^/]+\/events$/.test(rest))
    return r.method === 'GET' ? 'events.list' : 'events.insert';
  if (/^calendars\/[^/]+\/events\/[^/]+\/instances$/.test(rest)) return 'events.instances';
  if (/^calendars\/[^/]+\/events\/[^/]+$/.test(rest)) {
    return (
      { GET: 'events.get', PATCH: 'events.patch', PUT: 'events.update', DELETE: 'events.delete' }[
        r.method
      ] ?? `events.${r.method}`
    );
  }
  if (/^calendars\/[^/]+$/.test(rest)) return 'calendars.get';
  return `${r.method} ${rest}`;
}

/** The calendar id of a logged events / calendars request, or undefined. */
export function calendarOf(r: RequestLogEntry): string | undefined {
  return /^\/calendar\/v3\/calendars\/([^/]+)/.exec(decodeURIComponent(r.path))?.[1];
}

/** An `events.list` call that starts a sequence (no pageToken). */
export function startsListSequence(r: RequestLogEntry): boolean {
  return endpointOf(r) === 'events.list' && r.query.pageToken === undefined;
}

export const BENCH_DIR = join(REPO_ROOT, 'test', 'bench');

/**
 * Stops the function processes of a stack with SIGTERM to Node itself and waits for them to exit,
 * so that `--cpu-prof` profiles get written (stack.stop() signals the whole group at once).
 */
export async function stopFunctionsGently(stack: LocalStack): Promise<void> {
  const pids = Object.values(stack.processes).flatMap((p) => {
    const pid = p?.child.pid === undefined ? undefined : childPidOf(p.child.pid);
    return pid === undefined ? [] : [pid];
  });
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  await waitUntil(() => pids.every((pid) => !existsSync(`/proc/${pid}`)), 20_000, 100);
}
