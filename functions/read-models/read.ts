// Reading stored documents into the read models, for any SDK: defaults for fields older documents lack.
import type { CalendarDocument, MirrorDocument, TombstoneDocument } from './types.js';

type Data = Record<string, unknown>;

/**
 * A calendar document as stored, with the defaults of fields written later in its life: a
 * calendar that has not synced yet has no counts, one written before a field existed lacks it.
 */
export function readCalendar<T>(data: Data): CalendarDocument<T> {
  const sync = (data.sync ?? {}) as Partial<CalendarDocument<T>['sync']>;
  return {
    ...(data as Partial<CalendarDocument<T>>),
    calendarId: String(data.calendarId ?? ''),
    summary: (data.summary as string | undefined) ?? null,
    timeZone: (data.timeZone as string | undefined) ?? null,
    counts: (data.counts as CalendarDocument<T>['counts'] | undefined) ?? { events: 0 },
    sync: {
      ...sync,
      status: sync.status ?? 'active',
      mode: sync.mode ?? 'push',
      lastSyncedAt: sync.lastSyncedAt ?? null,
      lastError: sync.lastError ?? null,
      nextRetryAt: sync.nextRetryAt ?? null,
      quarantined: sync.quarantined ?? 0,
    },
  };
}

/** Whether an events-collection document is a tombstone (a cancelled instance of a live series). */
export function isTombstone<T>(doc: MirrorDocument<T>): doc is TombstoneDocument<T> {
  return doc.status === 'cancelled';
}
