// Benchmark fixtures on a running local stack: calsync's own deps (as the CLI builds them), connecting calendars, seeding events fast.
import { Firestore } from '@google-cloud/firestore';
import type { CliDeps } from '../../functions/cli/deps.js';
import { connect, type ConnectReport } from '../../functions/cli/commands/connect.js';
import { parseConfig, type RenewalConfig } from '../../functions/config.js';
import { createLogger } from '../../functions/log.js';
import { pubsubEnqueuer, type ClosableEnqueuer } from '../../functions/renewal/enqueue.js';
import { clockedCliDeps } from '../harness/cli-deps.js';
import type { LocalStack } from '../stack/local-stack.js';
import { pool } from './lib.js';

export interface BenchWorld {
  config: Readonly<RenewalConfig>;
  db: Firestore;
  enqueuer: ClosableEnqueuer;
  /** ms the simulated clock is ahead of real time (deps.now follows it). */
  offset: { ms: number };
  deps(overrides?: Partial<CliDeps>): CliDeps;
  close(): Promise<void>;
}

export async function benchWorld(stack: LocalStack): Promise<BenchWorld> {
  const config = parseConfig(stack.env, 'cli');
  const db = new Firestore({ projectId: stack.projectId, ignoreUndefinedProperties: true });
  await db.doc('warmup/connection').get();
  const enqueuer = pubsubEnqueuer(config);
  const offset = { ms: 0 };
  const logger = createLogger({ level: 'ERROR', write: (l) => process.stderr.write(`${l}\n`) });
  return {
    config,
    db,
    enqueuer,
    offset,
    deps: clockedCliDeps({ db, config, logger, enqueuer, offset }, 'bench', () => undefined),
    async close() {
      await enqueuer.close();
      await db.terminate();
    },
  };
}

/** `calsync connect` in-process (the same code the CLI runs): first full sync, channel, catch-up. */
export function connectCalendar(
  deps: CliDeps,
  uid: string,
  calendarId: string,
  refreshToken: string,
): Promise<ConnectReport> {
  return connect(deps, { uid, calendarId, refreshToken, all: false });
}

/** One event body of the kind a busy work calendar holds (~1 KB as JSON once stored). */
export function eventBody(i: number, baseMs: number): Record<string, unknown> {
  const start = baseMs + (i % 400) * 86_400_000 + (8 + (i % 10)) * 3_600_000;
  const allDay = i % 17 === 0;
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return {
    summary: `Meeting #${i} — ${['Design review', 'Customer call', '1:1', 'Planning'][i % 4]}`,
    description: `Agenda for meeting ${i}: status, risks, next steps. Notes are kept in the shared doc.`,
    location: i % 3 === 0 ? 'Room 4, Building B' : undefined,
    attendees:
      i % 2 === 0
        ? [{ email: `colleague${i % 50}@example.com` }, { email: `lead${i % 7}@example.com` }]
        : undefined,
    start: allDay ? { date: day(start) } : { dateTime: new Date(start).toISOString() },
    end: allDay
      ? { date: day(start + 86_400_000) }
      : { dateTime: new Date(start + 45 * 60_000).toISOString() },
  };
}

/** Inserts `count` events through the simulator's events.insert with raw fetch (fast seeding). */
export async function seedEvents(
  simUrl: string,
  accessToken: string,
  calendarId: string,
  count: number,
  concurrency = 24,
): Promise<string[]> {
  const ids: string[] = [];
  const base = Date.now() - 200 * 86_400_000;
  await pool(
    Array.from({ length: count }, (_, i) => i),
    concurrency,
    async (i) => {
      const res = await retryNetwork(() =>
        fetch(`${simUrl}/calendar/v3/calendars/${encodeURIComponent(calendarId)}/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
          body: JSON.stringify(eventBody(i, base)),
        }),
      );
      const body = (await res.json()) as { id?: string };
      if (!res.ok || !body.id) throw new Error(`insert failed: ${res.status}`);
      ids.push(body.id);
    },
  );
  return ids;
}

/**
 * A connection the loaded machine dropped ("fetch failed") is tried again, up to 3 times. A retried
 * insert may have landed: the seeded calendar can hold an event or two more than asked.
 */
async function retryNetwork(send: () => Promise<Response>): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      if (attempt >= 3 || !(err instanceof TypeError)) throw err;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}
