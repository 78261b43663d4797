// Child processes that never outlive us: own process group, a watchdog, stop() that reaches grandchildren.
import { spawn, type ChildProcess } from 'node:child_process';

export interface ManagedProcess {
  child: ChildProcess;
  /** The last few KB of stdout+stderr, for error messages. */
  output(): string;
  /** Calls back on each output line (for tests and the local stack's story). */
  onLine(listener: (line: string, stream: 'stdout' | 'stderr') => void): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the group is gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once (crash tests). */
  kill(): void;
}

const live = new Set<ChildProcess>();

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}

let hooksInstalled = false;
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const killAll = () => {
    for (const child of live) signalGroup(child, 'SIGKILL');
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

/**
 * Spawns `command args` in its own process group behind a watchdog shell that kills the group
 * when this Node process disappears (even through SIGKILL), so nothing is ever orphaned.
 */
export function spawnManaged(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): ManagedProcess {
  // The child's own exit code survives; only when *we* vanish does the watchdog kill the group.
  const watchdog = `"$@" & child=$!; while kill -0 ${process.pid} 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 0.5; done; if kill -0 ${process.pid} 2>/dev/null; then wait $child; exit $?; fi; kill -9 0`;
  const child = spawn('bash', ['-c', watchdog, 'calsync-managed', command, ...args], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
    cwd: options.cwd,
  });
  installExitHooks();
  live.add(child);
  let output = '';
  const listeners: Array<(line: string, stream: 'stdout' | 'stderr') => void> = [];
  const pipe = (stream: 'stdout' | 'stderr') => {
    let partial = '';
    return (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output = (output + text).slice(-16_000);
      partial += text;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) for (const l of listeners) l(line, stream);
    };
  };
  child.stdout?.on('data', pipe('stdout'));
  child.stderr?.on('data', pipe('stderr'));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }),
  );
  return {
    child,
    output: () => output,
    onLine: (l) => listeners.push(l),
    exited,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) {
        signalGroup(child, 'SIGKILL');
        return;
      }
      signalGroup(child, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      signalGroup(child, 'SIGKILL'); // grandchildren (java under a launcher script) may outlive it
    },
    kill() {
      signalGroup(child, 'SIGKILL');
    },
  };
}

/** Polls `probe` until it resolves true, failing with the process output after `timeoutMs`. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  proc: ManagedProcess | undefined,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc && (proc.child.exitCode !== null || proc.child.signalCode !== null)) {
      throw new Error(`${what} exited before it was ready:\n${proc.output()}`);
    }
    try {
      if (await probe()) return;
    } catch {
      /* not ready */
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(
    `${what} was not ready within ${timeoutMs} ms${proc ? `:\n${proc.output()}` : ''}`,
  );
}

/**
 * Runs a short-lived command to its exit: resolves with its stdout; a non-zero exit rejects with
 * `name` and the tail of its stderr. `stdin` is written and closed (secrets go there, never in
 * args); `onStderr` sees stderr as it comes.
 */
export function runToExit(
  command: string,
  args: readonly string[],
  options: {
    name?: string;
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    stdin?: string;
    onStderr?: (text: string) => void;
  } = {},
): Promise<string> {
  const name = options.name ?? `${command} ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString('utf8');
      options.onStderr?.(c.toString('utf8'));
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${name} exited with ${code}: ${err.slice(-2000)}`)),
    );
    child.stdin.end(options.stdin ?? '');
  });
}
