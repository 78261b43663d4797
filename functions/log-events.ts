// Log lines that dashboards and alerts depend on: message texts and field names shared by the code that logs them and by infra/monitoring.tf.
//
// infra/monitoring.tf builds log-based metrics from these lines (jsonPayload.message and the
// fields below); test/unit/infra/log-events.test.ts fails when a metric filter names a message or
// field not declared here, or when the code stops logging one. Rename a line here, in the code and
// in monitoring.tf together.

export interface LogEvent {
  /** The exact `message` of the line. */
  readonly message: string;
  /** Fields the metrics read (jsonPayload.<field>); a dotted path for nested ones. */
  readonly fields: readonly string[];
}

export const LOG_EVENTS = {
  /** syncWorker: one line per handled Pub/Sub message, whatever happened. */
  syncResult: {
    message: 'sync result',
    /** outcome: HandleOutcome or 'error' (redelivered); lagMs: publish → handled, in ms. */
    fields: ['outcome', 'lagMs', 'redeliver'],
  },
  /** Sync engine: the calendar waits for the user to connect again (syncing stopped). */
  needsReauth: {
    message: 'user must re-authorise; syncing stopped',
    /** code: invalid_grant, credentials_unreadable, account_ambiguous. */
    fields: ['reason', 'code'],
  },
  /** Sync engine: an event Firestore refused or the code could not handle, stored trimmed or as a stub. */
  itemQuarantined: {
    message: 'event quarantined',
    fields: ['reason'],
  },
  /** renewChannels: the run's summary (nested under `summary`). */
  renewalSummary: {
    message: 'renewChannels summary',
    fields: ['summary.remaining'],
  },
  /** renewChannels: the run stopped at its time budget with work left (`remaining`). */
  renewalBudgetUsedUp: {
    message: 'renewal time budget used up',
    fields: ['remaining'],
  },
  /** renewChannels: calendars not synced within the safety-net period (calsync status --stale). */
  staleCalendars: {
    message: 'stale calendars',
    fields: ['count'],
  },
  /** webhook: a request refused (4xx); sampled per reason and minute, `suppressed` counts the rest. */
  notificationRejected: {
    message: 'notification rejected',
    fields: ['reason', 'status', 'suppressed'],
  },
  /** webhook: a notification verified with a legacy v1 channel token (none left → switch v1 off). */
  channelTokenV1: {
    message: 'channel token v1 accepted',
    fields: ['subscriptionId'],
  },
} as const satisfies Record<string, LogEvent>;

export type LogEventName = keyof typeof LOG_EVENTS;
