// Integration: the real `calsync` executable as a child process (tsx) against the emulators + simulator, and disconnect.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { connect } from '../../../functions/cli/commands/connect.js';
import { disconnect } from '../../../functions/cli/commands/disconnect.js';
import { runCli } from '../../../functions/cli/program.js';
import { subscriptionIdFor } from '../../../functions/ids.js';
import { paths } from '../../../functions/store/schema.js';
import { emulatorsMissing } from '../../harness/env.js';
import { googleCalendar } from '../../simulator/client.js';
import { worldFixture, type World } from '../channels/world.js';

/**
 * Runs the executable and waits for its exit code. (harness spawnManaged() ends its watchdog with
 * `kill -9 0`, which reports every exit as SIGKILL; a short-lived command needs the real code.)
 */
async function cli(w: World, args: string[], timeoutMs = 45_000) {
  const child = spawn('node_modules/.bin/tsx', ['functions/cli/main.ts', ...args], {
    env: { ...process.env, ...w.env, METADATA_SERVER_DETECTION: 'none' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  clearTimeout(timer);
  return { code, stdout, stderr, all: `${stdout}\n${stderr}` };
}

describe.skipIf(emulatorsMissing() !== '')('calsync CLI', () => {
  const w = worldFixture('cli');

  it('runs as a child process: connect, status --json, misuse exits 2 — never printing the token', async () => {
    const token = '1//cli-child-refresh-token-0123456789';
    await w.simc.createUser('kim@example.com', token);
    const c = await cli(w, [
      'connect',
      '--user',
      'kim',
      '--calendar',
      'primary',
      '--refresh-token',
      token,
    ]);
    expect(c.code, c.all).toBe(0);
    expect(c.stdout).toContain('connected kim@example.com');
    expect(c.stderr).toMatch(/page 1 written/);
    expect(c.all).not.toContain(token);

    const s = await cli(w, ['status', '--json']);
    expect(s.code, s.all).toBe(0);
    const report = JSON.parse(s.stdout) as { subscriptions: Record<string, unknown>[] };
    expect(report.subscriptions).toContainEqual(
      expect.objectContaining({
        user: 'kim',
        calendar: 'kim@example.com',
        status: 'active',
        mode: 'push',
      }),
    );
    const misuse = await cli(w, ['connect', '--user', 'kim', '--refresh-token', token]);
    expect(misuse.code).toBe(2);
    expect(misuse.stderr).toMatch(/required option '--calendar <id>' not specified/);
    expect(misuse.all).not.toContain(token);
  });

  it('runs in-process on the real clients: status table, resync --full on Pub/Sub, unknown calendar exits 1', async () => {
    const run = async (argv: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await runCli(argv, {
        env: { ...process.env, ...w.env },
        io: { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) },
      });
      return { code, stdout, stderr };
    };
    const table = await run(['status', '--user', 'kim']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^USER\s+ACCOUNT\s+CALENDAR\s+STATUS/);
    expect(table.stdout).toMatch(/kim\s+kim@example.com\s+kim@example.com\s+active\s+push/);
    expect(table.stdout).toContain('all live channels carry v2 tokens');

    await w.pull(100);
    const r = await run(['resync', '--user', 'kim', '--calendar', 'kim@example.com', '--full']);
    expect(r.code, r.stderr).toBe(0);
    expect(await w.pull()).toContainEqual(
      expect.objectContaining({
        kind: 'resync',
        reason: 'manual',
        full: true,
        subscriptionId: subscriptionIdFor('kim', 'kim@example.com'),
      }),
    );
    const unknown = await run(['resync', '--user', 'nobody', '--calendar', 'x@example.com']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no subscription/);
  });

  it('connect right after a burst of edits: changes not yet listable at the full listing (visibility lag) arrive with the catch-up', async () => {
    const token = '1//lag-refresh-token-0123456789';
    await w.simc.createUser('lag@example.com', token);
    const { calendar } = googleCalendar(w.sim.url, token);
    // Google can list a change later than it happened (compass-calendar#1190): 4 s here, inside
    // a re-check delay of 5 s, and longer than connect takes to reach its catch-up.
    await w.simc.setRealism({ visibilityLagMs: 4_000 });
    const deps = w.deps();
    try {
      for (let i = 0; i < 4; i++) {
        await calendar.events.insert({
          calendarId: 'primary',
          requestBody: {
            summary: `lag ${i}`,
            start: { dateTime: `2030-03-0${i + 1}T09:00:00Z` },
            end: { dateTime: `2030-03-0${i + 1}T10:00:00Z` },
          },
        });
      }
      // No waiting: the full listing cannot see them yet, and no notification will follow (the
      // channel is created after the edits).
      const c = await connect(
        { ...deps, config: { ...deps.config, recheckMs: 5_000 } },
        {
          uid: 'lag',
          calendarId: 'primary',
          refreshToken: token,
          all: false,
        },
      );
      expect(c.calendar.sync.writes).toBe(4);
      const stored = await w.db.collection(paths.events('lag', 'lag@example.com')).get();
      expect(stored.docs.map((d) => d.get('summary') as string).sort()).toEqual([
        'lag 0',
        'lag 1',
        'lag 2',
        'lag 3',
      ]);
    } finally {
      await w.simc.setRealism({ visibilityLagMs: 0 });
    }
  });

  it("disconnect stops the channel and deletes the subscription; --delete-data removes the events in batches; the account's grant is revoked and its credentials deleted with its last calendar", async () => {
    const token = '1//disconnect-refresh-token-0123456789';
    await w.simc.createUser('lee@example.com', token);
    const second = await w.simc.createCalendar('lee@example.com', { summary: 'Second' });
    const { calendar } = googleCalendar(w.sim.url, token);
    for (let i = 0; i < 3; i++) {
      await calendar.events.insert({
        calendarId: 'primary',
        requestBody: {
          summary: `e${i}`,
          start: { dateTime: `2030-02-0${i + 1}T09:00:00Z` },
          end: { dateTime: `2030-02-0${i + 1}T10:00:00Z` },
        },
      });
    }
    const a = await connect(w.deps(), {
      uid: 'lee',
      calendarId: 'primary',
      refreshToken: token,
      all: false,
    });
    await connect(w.deps(), { uid: 'lee', calendarId: second, refreshToken: token, all: false });
    expect((await w.db.collection(paths.events('lee', 'lee@example.com')).get()).size).toBe(3);

    const first = await disconnect(w.deps(), {
      uid: 'lee',
      calendarId: 'lee@example.com',
      all: false,
      deleteData: true,
    });
    expect(first.channelsStopped).toBe(1);
    expect(first.calendars[0]?.deletedDocuments).toBeGreaterThanOrEqual(3);
    expect(first.credentialsDeleted).toBe(false);
    expect(first.accounts).toEqual([]);
    expect((await w.db.collection(paths.events('lee', 'lee@example.com')).get()).size).toBe(0);
    expect((await w.db.doc(paths.calendar('lee', 'lee@example.com')).get()).exists).toBe(false);
    expect((await w.db.doc(paths.subscription(a.calendar.subscriptionId)).get()).exists).toBe(
      false,
    );
    const sim = await w.simc.channels();
    expect(sim.find((c) => c.id === a.calendar.channel?.id)?.stopped).toBe(true);
    const credPath = paths.account('lee', a.account.accountId);
    expect((await w.db.doc(credPath).get()).exists).toBe(true);

    const last = await disconnect(w.deps(), {
      uid: 'lee',
      calendarId: second,
      all: false,
      deleteData: false,
    });
    expect(last.credentialsDeleted).toBe(true);
    expect(last.accounts).toEqual([{ account: a.account.accountId, revoke: 'revoked' }]);
    expect((await w.db.doc(credPath).get()).exists).toBe(false);
    // Revoked at Google (issue 15.5): the grant no longer refreshes.
    const grants = (await w.simc.user('lee@example.com')).grants;
    expect(grants.find((g) => g.refreshToken === token)?.failure).toBe('revoked');
    const cal = (await w.db.doc(paths.calendar('lee', second)).get()).data();
    expect(cal?.sync?.status).toBe('removed');
    const live = (await w.simc.channels()).filter(
      (c) => c.owner === 'lee@example.com' && !c.stopped,
    );
    expect(live).toEqual([]);
  });
});
