// Finds, starts and stops the gcloud Firestore and Pub/Sub emulators on free loopback ports.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type EmulatorKind = 'firestore' | 'pubsub';

export interface RunningEmulator {
  kind: EmulatorKind;
  /** host:port, the value for FIRESTORE_EMULATOR_HOST / PUBSUB_EMULATOR_HOST. */
  host: string;
  port: number;
  stop(): Promise<void>;
}

const KNOWN_SDK_ROOTS = [
  '/usr/lib/google-cloud-sdk',
  '/usr/share/google-cloud-sdk',
  '/opt/google-cloud-sdk',
  '/google-cloud-sdk',
  join(process.env.HOME ?? '/root', 'google-cloud-sdk'),
];

const LAUNCHERS: Record<EmulatorKind, string> = {
  firestore: 'platform/cloud-firestore-emulator/cloud_firestore_emulator',
  pubsub: 'platform/pubsub-emulator/bin/cloud-pubsub-emulator',
};

function sdkRootFromGcloud(): string | undefined {
  try {
    const out = execFileSync('gcloud', ['info', '--format=value(installation.sdk_root)'], {
      encoding: 'utf8',
      timeout: 20_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return out || undefined;
  } catch {
    return undefined;
  }
}

let cachedRoots: string[] | undefined;
function sdkRoots(): string[] {
  if (!cachedRoots) {
    const fromEnv = process.env.CALSYNC_GCLOUD_SDK_ROOT;
    const fromGcloud = sdkRootFromGcloud();
    cachedRoots = [fromEnv, fromGcloud, ...KNOWN_SDK_ROOTS].filter(
      (r): r is string => typeof r === 'string' && r !== '',
    );
  }
  return cachedRoots;
}

/** The launcher script of an emulator, or undefined when this machine lacks it. */
export function findEmulator(kind: EmulatorKind): string | undefined {
  for (const root of sdkRoots()) {
    const path = join(root, LAUNCHERS[kind]);
    if (existsSync(path)) return path;
  }
  return undefined;
}

export function javaAvailable(): boolean {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

/** What is missing for the emulators to run here (empty when everything is present). */
export function missingEmulatorParts(): string[] {
  const missing: string[] = [];
  if (!javaAvailable()) missing.push('java (17+)');
  if (!findEmulator('firestore')) missing.push('Firestore emulator (cloud-firestore-emulator)');
  if (!findEmulator('pubsub')) missing.push('Pub/Sub emulator (pubsub-emulator)');
  return missing;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const live = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal); // the whole process group: launcher script and its java
  } catch {
    /* already gone */
  }
}

let exitHooksInstalled = false;
function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  const killAll = () => {
    for (const child of live) killGroup(child, 'SIGKILL');
    live.clear();
  };
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

async function waitUntilAnswering(
  port: number,
  child: ChildProcess,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`emulator exited before answering (code ${child.exitCode}):\n${output()}`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`emulator on port ${port} did not answer within 60 s:\n${output()}`);
}

/**
 * Starts one emulator on a free loopback port. A watchdog shell kills the emulator's process
 * group when this Node process disappears, even through SIGKILL, so no Java process is left over.
 */
export async function startEmulator(
  kind: EmulatorKind,
  options: { port?: number; rules?: string } = {},
): Promise<RunningEmulator> {
  const launcher = findEmulator(kind);
  if (!launcher) throw new Error(`the ${kind} emulator is not installed on this machine`);
  const port = options.port ?? (await freePort());
  const args =
    kind === 'firestore'
      ? [
          'start',
          '--host=127.0.0.1',
          `--port=${port}`,
          ...(options.rules ? [`--rules=${options.rules}`] : []),
        ]
      : [
          `--host=127.0.0.1`,
          `--port=${port}`,
          `--data-dir=${mkdtempSync(join(tmpdir(), 'calsync-pubsub-'))}`,
        ];
  const watchdog = `"$@" & child=$!; while kill -0 ${process.pid} 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 1; done; kill -9 0`;
  const child = spawn('bash', ['-c', watchdog, 'calsync-emulator', launcher, ...args], {
    detached: true, // own process group, so stop() reaches java too
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, JAVA_TOOL_OPTIONS: '-Xss2m' },
  });
  installExitHooks();
  live.add(child);
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  try {
    await waitUntilAnswering(port, child, () => output);
  } catch (err) {
    killGroup(child, 'SIGKILL');
    live.delete(child);
    throw err;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    kind,
    host: `127.0.0.1:${port}`,
    port,
    async stop() {
      if (!live.has(child)) return;
      live.delete(child);
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      killGroup(child, 'SIGKILL'); // the java child may outlive the launcher
    },
  };
}
