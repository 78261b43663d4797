// syncWorker: the worker's composition root (above sync and channels) — the functions-framework CloudEvent target for Pub/Sub "message published"; wires config, Firestore and the cores.
import { Firestore } from '@google-cloud/firestore';
import type { CloudEvent } from '@google-cloud/functions-framework';
import { calendarApiFactory } from '../calendar/client.js';
import { pubsubChangePublisher } from '../changes/publisher.js';
import { parseConfig } from '../config.js';
import { LOG_EVENTS } from '../log-events.js';
import { createLogger, registerSecret } from '../log.js';
import { handleCalendarListNotification } from '../channels/calendar-list.js';
import type { LifecycleDeps } from '../channels/deps.js';
import type { SyncDeps } from '../sync/deps.js';
import { runSync } from '../sync/engine.js';
import { handleSyncMessage, mustRedeliver, type IncomingSyncMessage } from '../sync/handle.js';
import { outsideRequestDomain } from '../outside-domain.js';

/** The Pub/Sub CloudEvent payload (google.cloud.pubsub.topic.v1.messagePublished). */
export interface PubSubEventData {
  message?: {
    data?: string;
    messageId?: string;
    publishTime?: string;
    attributes?: Record<string, string>;
  };
  subscription?: string;
}

let deps: SyncDeps | undefined;

/** Built once per instance: an invalid configuration fails here, naming the variable. */
function instanceDeps(): SyncDeps {
  if (!deps) {
    const config = parseConfig(process.env, 'worker');
    registerSecret(config.oauth.clientSecret);
    const logger = createLogger({ level: config.logLevel, base: { component: 'syncWorker' } });
    deps = {
      db: new Firestore({ projectId: config.projectId, ignoreUndefinedProperties: true }),
      calendarApi: calendarApiFactory(config),
      config,
      logger,
      holderId: `syncWorker-${process.pid}`,
      ...(config.changesTopic
        ? { changes: pubsubChangePublisher(config.projectId, config.changesTopic) }
        : {}),
    };
    const built = deps;
    const webhookUrl = config.webhookUrl;
    if (webhookUrl !== undefined) {
      // connect --all: a calendar-list notification reconciles the user's calendars now; a calendar
      // added is subscribed, fully synced here and watched (renewal also reconciles hourly).
      const lifecycle = {
        db: built.db,
        config: { ...config, webhookUrl },
        calendarApi: built.calendarApi,
        logger,
        now: Date.now,
        ...(built.changes ? { changes: built.changes } : {}),
      };
      built.calendarListNotification = calendarListNotifier(built, lifecycle);
    }
  }
  return deps;
}

/** base64 JSON → value; undefined when it is not (the core then reports it as malformed). */
export function decodePubSubData(data: string | undefined): unknown {
  if (!data) return undefined;
  try {
    return JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function asPubSub(data: unknown): PubSubEventData {
  return typeof data === 'object' && data !== null ? (data as PubSubEventData) : {};
}

export function toIncoming(event: CloudEvent<unknown>): IncomingSyncMessage {
  const raw = asPubSub(event.data).message;
  const message = typeof raw === 'object' && raw !== null ? raw : undefined;
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    data: decodePubSubData(text(message?.data)),
    ...(text(message?.messageId) ? { messageId: text(message?.messageId) } : {}),
    ...(text(message?.publishTime) ? { publishTime: text(message?.publishTime) } : {}),
  };
}

/**
 * The worker's answer to a calendar-list notification (connect --all): reconcile the user's
 * calendars; each calendar added is subscribed and watched, and fully synced right here.
 */
export function calendarListNotifier(
  sync: SyncDeps,
  lifecycle: LifecycleDeps,
): NonNullable<SyncDeps['calendarListNotification']> {
  return (message) =>
    handleCalendarListNotification(lifecycle, message, async (subscriptionId) => {
      await runSync(sync, subscriptionId, { trigger: 'connect', full: true });
    });
}

/** Thrown for a message that must come back later (see `mustRedeliver`); not a failure. */
export class RedeliverLaterError extends Error {
  constructor(outcome: string) {
    super(
      `sync ${outcome}: redelivered later (another worker holds the lease, or a renewal is storing the channel)`,
    );
    this.name = 'RedeliverLaterError';
  }
}

/**
 * Resolves → acknowledged; rejects → Pub/Sub redelivers (retry policy, then dead-letter topic).
 * Every message ends with one `sync result` line (outcome, lag since publish): what the
 * dashboards and the failed-sync alert count (functions/log-events.ts, infra/monitoring.tf).
 */
export async function syncWorker(event: CloudEvent<unknown>): Promise<void> {
  const deps = instanceDeps();
  const incoming = toIncoming(event);
  let outcome = 'error';
  let redeliver = true;
  try {
    const result = await outsideRequestDomain(() => handleSyncMessage(deps, incoming));
    outcome = result.outcome;
    redeliver = mustRedeliver(result);
    if (redeliver) throw new RedeliverLaterError(result.outcome);
  } finally {
    const published = incoming.publishTime ? Date.parse(incoming.publishTime) : NaN;
    deps.logger.info(LOG_EVENTS.syncResult.message, {
      outcome,
      redeliver,
      ...(Number.isNaN(published) ? {} : { lagMs: Math.max(0, Date.now() - published) }),
      ...(incoming.messageId ? { messageId: incoming.messageId } : {}),
    });
  }
}
