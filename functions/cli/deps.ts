// deps.ts of cli/ (convention: functions/index.ts): what CLI commands need (the lifecycle deps plus an enqueuer and a progress sink), and the real ones built from configuration.
import { Firestore } from '@google-cloud/firestore';
import { calendarApiFactory } from '../calendar/client.js';
import { pubsubChangePublisher } from '../changes/publisher.js';
import type { LifecycleDeps } from '../channels/deps.js';
import type { RenewalConfig } from '../config.js';
import { createLogger, registerSecret, type Severity } from '../log.js';
import { pubsubEnqueuer, type Enqueuer } from '../renewal/enqueue.js';

export interface CliDeps extends LifecycleDeps {
  enqueuer: Enqueuer;
  /** One line of progress for a human (stderr). */
  progress(line: string): void;
  /** Claim holder id of this invocation. */
  holder: string;
}

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface BuiltDeps {
  deps: CliDeps;
  close(): Promise<void>;
}

/** Real clients: Firestore and Pub/Sub (each finds its emulator by itself), the Calendar API adapter. */
export function buildDeps(
  config: Readonly<RenewalConfig>,
  io: CliIo,
  env: NodeJS.ProcessEnv,
): BuiltDeps {
  registerSecret(config.channelSecrets.current);
  registerSecret(config.channelSecrets.previous);
  registerSecret(config.oauth.clientSecret);
  const db = new Firestore({ projectId: config.projectId });
  const enqueuer = pubsubEnqueuer(config);
  // The syncs a command runs (connect) announce on the change feed, as the worker's do.
  const changes = config.changesTopic
    ? pubsubChangePublisher(config.projectId, config.changesTopic)
    : undefined;
  const wanted = env.CALSYNC_LOG_LEVEL;
  const level: Severity =
    wanted === 'DEBUG' || wanted === 'INFO' || wanted === 'WARNING' || wanted === 'ERROR'
      ? wanted
      : 'WARNING';
  // Log lines go to stderr: stdout is for the command's own output (tables, JSON).
  const logger = createLogger({ level, write: (line) => io.stderr(`${line}\n`) });
  return {
    deps: {
      db,
      config,
      calendarApi: calendarApiFactory(config),
      logger,
      now: Date.now,
      enqueuer,
      progress: (line) => io.stderr(`${line}\n`),
      holder: `cli:${process.pid}:${Date.now().toString(36)}`,
      ...(changes ? { changes } : {}),
    },
    async close() {
      await enqueuer.close();
      await changes?.close();
      await db.terminate();
    },
  };
}
