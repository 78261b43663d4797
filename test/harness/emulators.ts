// Finds, starts and stops the gcloud Firestore and Pub/Sub emulators on free loopback ports.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnManaged, waitFor } from './processes.js';

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

/**
 * Starts one emulator on a free loopback port; it is stopped with its Java child by stop(), on
 * our exit, or by the watchdog when this process disappears (see processes.ts).
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
  const proc = spawnManaged(launcher, args);
  try {
    await waitFor(
      `the ${kind} emulator`,
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
        return res.ok;
      },
      proc,
    );
  } catch (err) {
    proc.kill();
    throw err;
  }
  return { kind, host: `127.0.0.1:${port}`, port, stop: () => proc.stop() };
}
