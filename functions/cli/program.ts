// The calsync CLI's argv layer: commander commands, flag validation, output, exit codes (0 ok, 1 failed, 2 misuse).
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, parseConfig, type RenewalConfig } from '../config.js';
import { redactString, registerSecret } from '../log.js';
import { renewChannelsCore } from '../renewal/core.js';
import { CALSYNC_SCOPES } from '../credentials/identity.js';
import { connect, type ConnectReport } from './commands/connect.js';
import { formatKeys, keys, migrate } from './commands/accounts.js';
import { disconnect } from './commands/disconnect.js';
import { resync } from './commands/resync.js';
import { formatStale, formatStatus, staleOnly, status } from './commands/status.js';
import { buildDeps, type BuiltDeps, type CliDeps, type CliIo } from './deps.js';
import { CliError, EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError } from './errors.js';
import { interactiveConsent } from './oauth-flow.js';
import { validCalendarId, validPort, validRefreshToken, validUid } from './validate.js';

export interface CliOptions {
  env: NodeJS.ProcessEnv;
  io: CliIo;
  /** Builds the clients (default: real Firestore / Pub/Sub / Calendar API). */
  build?: (config: Readonly<RenewalConfig>, io: CliIo, env: NodeJS.ProcessEnv) => BuiltDeps;
  /** Reads a secret from stdin (`--refresh-token -`). */
  readStdin?: () => Promise<string>;
  /** The interactive consent flow (replaced in tests). */
  consent?: typeof interactiveConsent;
}

async function readAll(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs the CLI on `argv` (without node and script); resolves with the exit code. */
export async function runCli(argv: readonly string[], o: CliOptions): Promise<number> {
  const { io } = o;
  let built: BuiltDeps | undefined;
  const depsFor = (): CliDeps => {
    if (built) return built.deps;
    let config: Readonly<RenewalConfig>;
    try {
      config = parseConfig(o.env, 'cli');
    } catch (err) {
      if (err instanceof ConfigError) {
        throw new UsageError(`configuration: ${err.problems.join('; ')}`);
      }
      throw err;
    }
    built = (o.build ?? buildDeps)(config, io, o.env);
    return built.deps;
  };
  const out = (text: string) => io.stdout(text.endsWith('\n') ? text : `${text}\n`);
  const json = (value: unknown) => out(JSON.stringify(value, null, 2));
  /** A command's report: JSON with --json, else the text `format` makes of it. */
  const print = <R>(f: { json?: boolean }, value: R, format: (r: R) => string) =>
    f.json ? json(value) : out(format(value));

  const program = new Command('calsync')
    .description('Operate calsync: connect calendars, watch their status, resync, renew channels.')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError('(calsync help <command> shows the flags)');

  program
    .command('connect')
    .description(
      "store the user's encrypted refresh token, subscribe the calendar, run the first full sync, open a watch channel",
    )
    .requiredOption('--user <uid>', 'user id (Firestore users/{uid})')
    .requiredOption('--calendar <id>', 'calendar id, or "primary"')
    .option(
      '--refresh-token <token>',
      'OAuth refresh token ("-" reads it from stdin); without it, interactive consent',
    )
    .option(
      '--all',
      'also watch the calendar list: connect calendars added later, remove deleted ones',
    )
    .option('--port <n>', 'loopback port for the interactive consent redirect', '0')
    .option('--json', 'print the result as JSON')
    .action(
      async (f: {
        user: string;
        calendar: string;
        refreshToken?: string;
        all?: boolean;
        port: string;
        json?: boolean;
      }) => {
        const uid = validUid(f.user);
        const calendarId = validCalendarId(f.calendar);
        const port = validPort(f.port);
        let token = f.refreshToken;
        if (token === '-') token = (await (o.readStdin ?? readAll)()).trim();
        if (token !== undefined) token = validRefreshToken(token);
        const deps = depsFor();
        if (token === undefined) {
          token = await (o.consent ?? interactiveConsent)({
            oauth: deps.config.oauth,
            scopes: CALSYNC_SCOPES,
            port,
            print: (line) => io.stderr(`${line}\n`),
          });
        }
        registerSecret(token);
        const connected = await connect(deps, {
          uid,
          calendarId,
          refreshToken: token,
          all: f.all === true,
        });
        print(f, connected, describeConnect);
      },
    );

  program
    .command('disconnect')
    .description(
      'stop the channel(s), delete the subscription; an account with no calendar left has its grant revoked at Google and its credentials deleted',
    )
    .requiredOption('--user <uid>', 'user id')
    .option('--calendar <id>', 'calendar id, or "primary"')
    .option('--all', 'every calendar of the user, and the calendar-list watch')
    .option('--delete-data', 'also delete the mirrored events (in batches of 500)')
    .option('--json', 'print the result as JSON')
    .action(
      async (f: {
        user: string;
        calendar?: string;
        all?: boolean;
        deleteData?: boolean;
        json?: boolean;
      }) => {
        const uid = validUid(f.user);
        if ((f.calendar === undefined) === (f.all !== true)) {
          throw new UsageError('disconnect needs exactly one of --calendar <id> or --all');
        }
        const calendarId = f.calendar === undefined ? undefined : validCalendarId(f.calendar);
        const report = await disconnect(depsFor(), {
          uid,
          calendarId,
          all: f.all === true,
          deleteData: f.deleteData === true,
        });
        print(
          f,
          report,
          (report) =>
            `disconnected ${report.calendars.map((c) => c.calendarId).join(', ') || 'nothing'}; ` +
            `channels stopped: ${report.channelsStopped}` +
            (report.channelsLeft ? `, left to expire: ${report.channelsLeft}` : '') +
            (f.deleteData
              ? `; documents deleted: ${report.calendars.reduce((n, c) => n + c.deletedDocuments, 0)}`
              : '') +
            (report.accounts.length > 0
              ? `; accounts retired: ${report.accounts.map((a) => `${a.account} (grant ${a.revoke})`).join(', ')}`
              : ''),
        );
      },
    );

  program
    .command('status')
    .description(
      'one row per subscription: status, mode, last sync, channel expiry, last notification, last error',
    )
    .option('--user <uid>', 'only this user')
    .option(
      '--stale',
      'only calendars not active or not synced within the safety-net period, with why and the next try',
    )
    .option('--json', 'machine-readable output')
    .action(async (f: { user?: string; json?: boolean; stale?: boolean }) => {
      const uid = f.user === undefined ? undefined : validUid(f.user);
      const deps = depsFor();
      const full = await status(deps, uid);
      const shown = f.stale ? staleOnly(full, deps.config.safetyNetMs) : full;
      print(f, shown, f.stale ? formatStale : formatStatus);
    });

  program
    .command('resync')
    .description('enqueue a sync of one calendar (incremental, or --full to diff everything)')
    .requiredOption('--user <uid>', 'user id')
    .requiredOption('--calendar <id>', 'calendar id, or "primary"')
    .option('--full', 'drop the sync token and run a diffing full sync')
    .action(async (f: { user: string; calendar: string; full?: boolean }) => {
      const r = await resync(depsFor(), {
        uid: validUid(f.user),
        calendarId: validCalendarId(f.calendar),
        full: f.full === true,
      });
      out(`enqueued ${r.full ? 'full' : 'incremental'} sync of ${r.subscriptionId}`);
    });

  program
    .command('renew')
    .description(
      'run one renewal pass now (what the hourly renewChannels does) and print its summary',
    )
    .addOption(new Option('--holder <id>', 'claim holder id (default: random)').hideHelp())
    .action(async (f: { holder?: string }) => {
      const deps = depsFor();
      const summary = await renewChannelsCore({
        ...deps,
        ...(f.holder ? { holderId: f.holder } : {}),
      });
      json(summary);
    });

  program
    .command('keys')
    .description(
      'list stored credentials by the key that sealed them; --reseal seals those on the previous key with the current one',
    )
    .option('--reseal', 're-seal credentials on the previous key (and legacy seals) now')
    .option('--json', 'machine-readable output')
    .action(async (f: { reseal?: boolean; json?: boolean }) => {
      const sealed = await keys(depsFor(), f.reseal === true);
      print(f, sealed, formatKeys);
    });

  program
    .command('migrate-accounts')
    .description(
      "one-off: move legacy credentials/{uid} documents to their Google account and bind the user's subscriptions to it",
    )
    .option('--dry-run', 'identify the accounts, change nothing')
    .option('--json', 'machine-readable output')
    .action(async (f: { dryRun?: boolean; json?: boolean }) => {
      const report = await migrate(depsFor(), f.dryRun === true);
      print(f, report, (report) =>
        report.users.length === 0
          ? 'nothing to migrate'
          : report.users
              .map(
                (u) =>
                  `${u.uid}: ${u.outcome}${u.account ? ` → ${u.account}` : ''}${u.bound ? `, ${u.bound} subscription(s) bound` : ''}${u.reason ? ` (${u.reason})` : ''}`,
              )
              .join('\n'),
      );
      if (report.users.some((u) => u.outcome === 'failed')) {
        throw new CliError('some users could not be migrated; run it again');
      }
    });

  if (argv.length === 0) {
    io.stderr(program.helpInformation());
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      const ok = ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(
        err.code,
      );
      return ok && err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (err instanceof UsageError) {
      io.stderr(`calsync: ${err.message}\n(calsync help <command> shows the flags)\n`);
      return EXIT_USAGE;
    }
    const message = err instanceof Error ? err.message : String(err);
    io.stderr(
      `calsync: ${err instanceof CliError ? '' : 'unexpected error: '}${redactString(message)}\n`,
    );
    return EXIT_FAILED;
  } finally {
    await built?.close().catch(() => undefined);
  }
}

function describeConnect(r: ConnectReport): string {
  const c = r.calendar;
  if (c.keptWith) {
    return `${c.calendarId} already syncs through ${c.keptWith}: left as it is (account ${r.account.email ?? r.account.accountId} stored; disconnect the calendar first to move it)`;
  }
  const lines = [
    `account ${r.account.email ?? r.account.accountId}`,
    `connected ${c.calendarId} (subscription ${c.subscriptionId}, ${c.mode === 'poll' ? 'polling mode' : 'push'})`,
    `  first sync: ${c.sync.outcome}, ${c.sync.items} item(s), ${c.sync.writes} write(s)`,
    c.channel
      ? `  channel ${c.channel.id} expires ${c.channel.expiresAt}`
      : '  no watch channel (polled on every renewal run)',
  ];
  if (r.calendarList) {
    lines.push(
      `  calendar list watched; added: ${r.calendarList.added.join(', ') || 'none'}; removed: ${r.calendarList.removed.join(', ') || 'none'}`,
    );
  }
  return lines.join('\n');
}
