// The whole calsync stack on loopback: emulators, Calendar API simulator, three functions under
// functions-framework, the topic and the worker's push subscription (dead-letter + retry policy).
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PubSub } from '@google-cloud/pubsub';
import { freePort, startEmulator, type RunningEmulator } from '../harness/emulators.js';
import { runToExit, spawnManaged, waitFor, type ManagedProcess } from '../harness/processes.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../simulator/index.js';
import { SimulatorClient } from '../simulator/client.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FF_BIN = join(REPO_ROOT, 'node_modules', '.bin', 'functions-framework');

export type Target = 'webhook' | 'syncWorker' | 'renewChannels';
const SIGNATURE: Record<Target, 'http' | 'cloudevent'> = {
  webhook: 'http',
  syncWorker: 'cloudevent',
  renewChannels: 'http',
};

export interface StackOptions {
  projectId?: string;
  simulator?: SimulatorOptions;
  /** Which functions to run (default: all three). */
  targets?: Target[];
  /** Pub/Sub delivery attempts before the dead-letter topic (5–100; default 5). */
  maxDeliveryAttempts?: number;
  /** Extra environment for the functions (e.g. small leases in tests). */
  env?: Record<string, string>;
  /** Compile functions/ to dist/ first when dist/ is older (default true), so the stack runs what is on disk. */
  build?: boolean;
  /** Receives every output line of the functions (structured JSON logs). */
  onLine?: (target: Target, line: string) => void;
}

export interface LocalStack {
  projectId: string;
  topic: string;
  deadLetterTopic: string;
  subscription: string;
  firestoreHost: string;
  pubsubHost: string;
  sim: Simulator;
  simClient: SimulatorClient;
  urls: Record<Target, string>;
  /** The environment the functions run with; point the CLI or other tools at the stack with it. */
  env: Record<string, string>;
  processes: Partial<Record<Target, ManagedProcess>>;
  /** SIGKILL one function's process (crash tests). */
  kill(target: Target): void;
  /** Start a killed or stopped function again on the same port. */
  restart(target: Target): Promise<void>;
  stop(): Promise<void>;
}

/** True once something accepts connections on the port (no request: it would be logged as one). */
function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Whether dist/ is older than functions/ (then the stack would run stale code). */
export function buildIsStale(): boolean {
  const built = join(REPO_ROOT, 'dist', 'functions', 'index.js');
  if (!existsSync(built)) return true;
  return newestMtime(join(REPO_ROOT, 'functions')) > statSync(built).mtimeMs;
}

export function buildFunctions(): void {
  execFileSync(join(REPO_ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], {
    cwd: REPO_ROOT,
    stdio: 'inherit',
  });
}

export async function startLocalStack(options: StackOptions = {}): Promise<LocalStack> {
  const targets = options.targets ?? ['webhook', 'syncWorker', 'renewChannels'];
  process.env.METADATA_SERVER_DETECTION ??= 'none'; // emulators need no credentials
  const projectId = options.projectId ?? `demo-calsync-${randomBytes(3).toString('hex')}`;
  const cleanups: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  };
  try {
    if ((options.build ?? true) && buildIsStale()) buildFunctions();

    // Emulators: reuse the ones a test harness already runs, or start our own.
    let firestoreHost = process.env.FIRESTORE_EMULATOR_HOST ?? '';
    let pubsubHost = process.env.PUBSUB_EMULATOR_HOST ?? '';
    const own: RunningEmulator[] = [];
    if (!firestoreHost || !pubsubHost) {
      const [fs, ps] = await Promise.all([startEmulator('firestore'), startEmulator('pubsub')]);
      own.push(fs, ps);
      cleanups.push(() => Promise.all(own.map((e) => e.stop())).then(() => undefined));
      firestoreHost = fs.host;
      pubsubHost = ps.host;
      process.env.FIRESTORE_EMULATOR_HOST = firestoreHost;
      process.env.PUBSUB_EMULATOR_HOST = pubsubHost;
    }

    const sim = await startSimulator(options.simulator);
    cleanups.push(() => sim.close());
    const simClient = new SimulatorClient(sim.url);

    const ports = Object.fromEntries(
      await Promise.all(targets.map(async (t) => [t, await freePort()] as const)),
    ) as Record<Target, number>;
    const urls = Object.fromEntries(
      targets.map((t) => [t, `http://127.0.0.1:${ports[t]}/`]),
    ) as Record<Target, string>;

    const topic = 'calendar-notifications';
    const deadLetterTopic = `${topic}-dead-letter`;
    const subscription = `${topic}-sync-worker`;
    const env: Record<string, string> = {
      GOOGLE_CLOUD_PROJECT: projectId,
      FIRESTORE_EMULATOR_HOST: firestoreHost,
      PUBSUB_EMULATOR_HOST: pubsubHost,
      METADATA_SERVER_DETECTION: 'none',
      CALSYNC_TOPIC: topic,
      CALSYNC_WEBHOOK_URL: urls.webhook ?? 'http://127.0.0.1:1/',
      CALSYNC_CHANNEL_SECRET: randomBytes(32).toString('base64url'),
      CALSYNC_TOKEN_KEY: randomBytes(32).toString('base64'),
      GOOGLE_OAUTH_CLIENT_ID: options.simulator?.clientId ?? 'calsync-test-client',
      GOOGLE_OAUTH_CLIENT_SECRET: options.simulator?.clientSecret ?? 'calsync-test-secret',
      CALSYNC_CALENDAR_API_URL: `${sim.url}/`,
      CALSYNC_OAUTH_TOKEN_URL: sim.tokenUrl,
      ...options.env,
    };

    // Topic, dead-letter topic and the worker's push subscription, as infra/ creates them.
    const pubsub = new PubSub({ projectId, apiEndpoint: pubsubHost });
    cleanups.push(() => pubsub.close());
    const [mainTopic] = await pubsub.createTopic(topic);
    const [dlTopic] = await pubsub.createTopic(deadLetterTopic);
    await dlTopic.createSubscription(`${deadLetterTopic}-inspect`);
    if (ports.syncWorker) {
      await mainTopic.createSubscription(subscription, {
        pushConfig: {
          // functions-framework turns a Pub/Sub push on this path into a CloudEvent.
          pushEndpoint: `http://127.0.0.1:${ports.syncWorker}/projects/${projectId}/topics/${topic}`,
        },
        ackDeadlineSeconds: 60,
        deadLetterPolicy: {
          deadLetterTopic: dlTopic.name,
          maxDeliveryAttempts: options.maxDeliveryAttempts ?? 5,
        },
        retryPolicy: { minimumBackoff: { seconds: 1 }, maximumBackoff: { seconds: 5 } },
      });
    }

    const processes: Partial<Record<Target, ManagedProcess>> = {};
    const launch = async (target: Target) => {
      const proc = spawnManaged(
        FF_BIN,
        [
          `--target=${target}`,
          `--signature-type=${SIGNATURE[target]}`,
          `--port=${ports[target]}`,
          `--source=${REPO_ROOT}`,
        ],
        {
          env: {
            ...process.env,
            ...env,
            FUNCTION_TARGET: target, // as Cloud Functions sets it: the start-up config check reads it
            PATH: `${join(REPO_ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
          },
          cwd: REPO_ROOT,
        },
      );
      if (options.onLine) proc.onLine((line) => options.onLine?.(target, line));
      processes[target] = proc;
      await waitFor(`functions-framework --target=${target}`, () => tcpOpen(ports[target]), proc);
    };
    await Promise.all(targets.map(launch));
    cleanups.push(async () => {
      await Promise.all(Object.values(processes).map((p) => p?.stop()));
    });

    return {
      projectId,
      topic,
      deadLetterTopic,
      subscription,
      firestoreHost,
      pubsubHost,
      sim,
      simClient,
      urls,
      env,
      processes,
      kill: (target) => processes[target]?.kill(),
      restart: async (target) => {
        await processes[target]?.stop();
        await launch(target);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Runs the built `calsync` CLI with the stack's environment (log level ERROR); resolves with its
 * stdout. The refresh token goes through `stdin`, never the arguments.
 */
export function runCalsync(
  stack: Pick<LocalStack, 'env'>,
  args: string[],
  options: { stdin?: string; onStderr?: (text: string) => void } = {},
): Promise<string> {
  return runToExit(
    join(REPO_ROOT, 'node_modules', '.bin', 'node'),
    [join(REPO_ROOT, 'dist', 'functions', 'cli', 'main.js'), ...args],
    {
      name: `calsync ${args.join(' ')}`,
      env: { ...process.env, ...stack.env, CALSYNC_LOG_LEVEL: 'ERROR' },
      ...options,
    },
  );
}
