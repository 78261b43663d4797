// `npm start`: the whole calsync stack on loopback, a demo calendar connected with `calsync connect`,
// and the seed write-up's story (add, edit, cancel an instance, delete) shown as it flows through.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { googleCalendar } from '../test/simulator/client.js';
import { REPO_ROOT, runCalsync, startLocalStack, type Target } from '../test/stack/local-stack.js';
import { FeedHub, startWebView } from '../web/server/server.js';
import { seedDemoCalendar, storySteps, type StoryStep } from './demo-calendar.js';

const DEMO_UID = 'demo';
const DEMO_EMAIL = 'demo@calsync.test';
const DEMO_ZONE = 'Europe/Berlin';
const WEB_PORT = Number(process.env.CALSYNC_WEB_PORT ?? 8780);
const DEMO_REFRESH_TOKEN = `1//demo-refresh-${Date.now().toString(36)}`;
const color = process.stdout.isTTY
  ? (code: number) => (s: string) => `\u001b[${code}m${s}\u001b[0m`
  : () => (s: string) => s;
const dim = color(2);
const bold = color(1);
const green = color(32);
const cyan = color(36);
const yellow = color(33);

const t0 = Date.now();
const stamp = () => dim(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s]`);
const say = (line: string) => console.log(`${stamp()} ${line}`);

/** Turns the functions' JSON log lines into the story's lines. */
function narrate(target: Target, line: string): void {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    // A thrown error's stack frames: its first line says enough here.
    if (/^\s+at /.test(line)) return;
    if (/RedeliverLaterError/.test(line)) {
      // The worker's nack of a message that found the calendar busy (functions-framework prints it
      // as an error): expected — the message comes back and is covered by the running sync.
      say(dim(`${target}: a message found the calendar busy; Pub/Sub redelivers it later`));
    } else if (line.trim() && !/Serving function|Function:|Signature type|URL:/.test(line)) {
      say(dim(`${target}: ${line}`));
    }
    return;
  }
  const m = entry.message;
  if (target === 'webhook' && m === 'notification published') {
    say(
      `${cyan('notification')} #${String(entry.messageNumber)} ${String(entry.state)} → webhook → Pub/Sub (${String(entry.publishMs)} ms)`,
    );
  } else if (target === 'webhook' && m === 'channel confirmed (sync)') {
    say(`${cyan('notification')} #1 sync → channel confirmed`);
  } else if (target === 'syncWorker' && m === 'sync') {
    say(
      `${yellow('delta fetch')} ${entry.full ? 'full' : 'incremental'}: ${String(entry.pages)} page(s), ${String(entry.items)} item(s), ${String(entry.writes)} write(s), ${String(entry.deletes)} delete(s), ${String(entry.durationMs)} ms`,
    );
  } else if (entry.severity === 'WARNING' || entry.severity === 'ERROR') {
    say(`${target} ${String(entry.severity)}: ${String(m)}`);
  }
}

async function main(): Promise<void> {
  console.log(bold('calsync — local stack'));
  say(
    'building functions/ and starting the Firestore + Pub/Sub emulators, the Calendar API simulator and three functions…',
  );
  const feed = new FeedHub(); // the live page's feed hears what the terminal hears
  const stack = await startLocalStack({
    onLine: (target, line) => {
      narrate(target, line);
      feed.onLine(target, line);
    },
    // Seeding writes 300 events in seconds; Google's 600/min per-user limit still applies to calsync's own calls in tests.
    simulator: { notificationRetryBaseMs: 200, rateLimitPerMinute: 5000 },
    env: { CALSYNC_LOG_LEVEL: 'INFO' },
  });
  const web = await startWebView({
    projectId: stack.projectId,
    firestoreHost: stack.firestoreHost,
    uid: DEMO_UID,
    feed,
    port: WEB_PORT,
  });
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping everything this run started…');
    await web.close();
    await stack.stop();
    console.log('stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());

  say(
    `${green('up')}: webhook ${stack.urls.webhook}  syncWorker ${stack.urls.syncWorker}  renewChannels ${stack.urls.renewChannels}`,
  );
  say(
    `Calendar API simulator ${stack.sim.url}  Firestore ${stack.firestoreHost}  Pub/Sub ${stack.pubsubHost}`,
  );
  say(
    `${green('live page')} ${bold(web.url)} — the demo user's week, read through the security rules`,
  );

  await stack.simClient.createUser(DEMO_EMAIL, DEMO_REFRESH_TOKEN, { timeZone: DEMO_ZONE });
  const { calendar } = googleCalendar(stack.sim.url, DEMO_REFRESH_TOKEN);
  const seeded = await seedDemoCalendar(calendar, DEMO_EMAIL);
  say(
    `seeded ${DEMO_EMAIL}: ${seeded.singles} single events and ${seeded.series} recurring series`,
  );

  say(`running ${bold(`calsync connect --user ${DEMO_UID} --calendar primary --refresh-token -`)}`);
  const connected = await runCalsync(
    stack,
    ['connect', '--user', DEMO_UID, '--calendar', 'primary', '--refresh-token', '-', '--json'],
    {
      stdin: DEMO_REFRESH_TOKEN,
      onStderr: (text) =>
        text
          .split('\n')
          .filter((l) => l.trim())
          .forEach((l) => say(dim(`calsync: ${l}`))),
    },
  );
  const report = JSON.parse(connected) as {
    calendar: {
      calendarId: string;
      sync: { items: number; writes: number };
      channel: { id: string; expiresAt: string } | null;
    };
  };
  say(
    `connected: first full sync wrote ${report.calendar.sync.writes} documents; channel ${report.calendar.channel?.id ?? '(none)'} expires ${report.calendar.channel?.expiresAt ?? '-'}`,
  );

  web.setDemo({
    calendar,
    calendarId: report.calendar.calendarId,
    timeZone: DEMO_ZONE,
    series: { id: seeded.standupId, summary: 'Team standup' },
  });

  // A downstream app: a real onSnapshot listener on the mirrored events.
  const db = new Firestore({ projectId: stack.projectId });
  const eventsPath = `users/${DEMO_UID}/calendars/${report.calendar.calendarId}/events`;
  const seen: Array<{ type: string; id: string; status: string }> = [];
  let initial = true;
  const unsubscribe = db.collection(eventsPath).onSnapshot((snap) => {
    if (initial) {
      initial = false;
      say(`${green('listener')} attached to ${eventsPath}: ${snap.size} documents`);
      return;
    }
    for (const change of snap.docChanges()) {
      const data = change.doc.data() as { summary?: string; status?: string };
      seen.push({ type: change.type, id: change.doc.id, status: data.status ?? '' });
      say(
        `${green('Firestore')} ${change.type.padEnd(8)} ${change.doc.id}${data.summary ? ` "${data.summary}"` : ''}${data.status === 'cancelled' ? ' (tombstone: cancelled occurrence)' : ''}`,
      );
    }
  });
  await waitUntil(() => !initial, 15_000);

  console.log(
    `\n${bold('The story')} ${dim('(the seed write-up: change → push → list with syncToken → only the delta)')}`,
  );
  const steps: StoryStep[] = storySteps(calendar, DEMO_EMAIL, seeded);
  for (const step of steps) {
    console.log(`\n${bold(`▸ ${step.title}`)}`);
    const before = seen.length;
    await step.run();
    const ok = await waitUntil(() => seen.slice(before).some(step.expect), 30_000);
    if (!ok) say(yellow(`no matching Firestore change within 30 s for: ${step.title}`));
    await new Promise((r) => setTimeout(r, 800)); // let the last log lines of this step arrive
  }

  // The run's environment, secrets included, goes to a private file rather than the terminal.
  const envFile = join(REPO_ROOT, '.calsync', 'local.env');
  mkdirSync(dirname(envFile), { recursive: true });
  writeFileSync(
    envFile,
    Object.entries(stack.env)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
    { mode: 0o600 },
  );
  console.log(
    `\n${bold('calsync is up.')} Its environment (with this run's secrets) is in ${envFile}:`,
  );
  for (const [k, v] of Object.entries(stack.env)) {
    if (!/SECRET|TOKEN_KEY/.test(k)) console.log(`  ${k}=${v}`);
  }
  console.log(
    `\n  In another terminal: ${bold('set -a; . .calsync/local.env; set +a; npx calsync status')}`,
  );
  console.log(
    `  or attach a Firestore listener to FIRESTORE_EMULATOR_HOST=${stack.firestoreHost} (project ${stack.projectId}).`,
  );
  console.log(
    `  Change the demo calendar through the simulator at ${stack.sim.url} (Google's own paths) and watch it flow.`,
  );
  console.log(
    `  Or open ${bold(web.url)}: the week live from Firestore, each calendar's sync state, the feed, and buttons that change the calendar.`,
  );
  console.log(`\n${dim('Ctrl-C stops everything.')}`);
  await new Promise<void>(() => {
    void unsubscribe; // kept alive until Ctrl-C
  });
}

async function waitUntil(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (predicate()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return predicate();
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
