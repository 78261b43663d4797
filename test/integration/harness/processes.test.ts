// Managed processes report their own exit code, and stop() takes their whole process group down.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { spawnManaged } from '../../harness/processes.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('spawnManaged', () => {
  it('passes the exit code of a process that ends by itself', async () => {
    const proc = spawnManaged('bash', ['-c', 'echo hello; exit 3']);
    const exit = await proc.exited;
    expect(exit.code).toBe(3);
    expect(proc.output()).toContain('hello');
  });

  it('stop() kills grandchildren too', async () => {
    const proc = spawnManaged('bash', ['-c', 'sleep 300 & echo "grandchild $!"; wait']);
    let pid = 0;
    for (let i = 0; i < 100 && pid === 0; i++) {
      pid = Number(/grandchild (\d+)/.exec(proc.output())?.[1] ?? 0);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(true);
    await proc.stop(1000);
    for (let i = 0; i < 40 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    // A zombie (reaped later by init) no longer runs: check the state, not just the pid.
    const state = alive(pid)
      ? execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim()
      : 'gone';
    expect(['gone', 'Z', 'Z+']).toContain(state);
  });
});
