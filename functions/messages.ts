// The Pub/Sub message contract between the webhook / renewer (producers) and the sync worker (consumer).
import { z } from 'zod';

/** A notification from Google, verified by the webhook, asking the worker to sync one subscription. */
export const NotificationMessage = z.object({
  v: z.literal(1),
  kind: z.literal('notification'),
  subscriptionId: z.string().min(1).max(200),
  channelId: z.string().min(1).max(64),
  resourceId: z.string().min(1).max(512),
  state: z.enum(['exists', 'not_exists']),
  messageNumber: z.number().int().nonnegative(),
  /** ISO time the webhook received the notification. */
  receivedAt: z.string().datetime({ offset: true }),
});

/** A sync requested by calsync itself (renewal recovery, safety net, polling mode, CLI resync). */
export const ResyncMessage = z.object({
  v: z.literal(1),
  kind: z.literal('resync'),
  subscriptionId: z.string().min(1).max(200),
  reason: z.enum(['safety-net', 'recovery', 'poll', 'manual', 'connect', 'retry', 'stuck']),
  /** Drop the sync token and do a (diffing) full sync. */
  full: z.boolean().default(false),
  requestedAt: z.string().datetime({ offset: true }),
});

/**
 * The day's occurrence-window roll of one calendar, fanned out by renewChannels to the worker
 * (decision 011): the worker rolls to its own clock's day, so a late or repeated message is harmless.
 */
export const RollMessage = z.object({
  v: z.literal(1),
  kind: z.literal('roll'),
  subscriptionId: z.string().min(1).max(200),
  requestedAt: z.string().datetime({ offset: true }),
});

export const SyncMessage = z.discriminatedUnion('kind', [
  NotificationMessage,
  ResyncMessage,
  RollMessage,
]);

export type NotificationMessage = z.infer<typeof NotificationMessage>;
export type ResyncMessage = z.infer<typeof ResyncMessage>;
export type RollMessage = z.infer<typeof RollMessage>;
/** What calsync itself enqueues (renewChannels, the CLI): everything but Google's notifications. */
export type ScheduledMessage = ResyncMessage | RollMessage;
export type SyncMessage = z.infer<typeof SyncMessage>;

/** Pub/Sub attributes set on every message, for subscription filters and dashboards. */
export function messageAttributes(message: SyncMessage): Record<string, string> {
  const base = { kind: message.kind, subscriptionId: message.subscriptionId };
  switch (message.kind) {
    case 'notification':
      return { ...base, state: message.state };
    case 'resync':
      return { ...base, reason: message.reason };
    case 'roll':
      return base;
  }
}

/** Parses a message body; throws a ZodError naming the bad fields (never the values). */
export function parseSyncMessage(data: unknown): SyncMessage {
  return SyncMessage.parse(data);
}
