// The documents the page reads (placeholder until the shared read models land in functions/read-models/).
import type { FirestoreDataConverter, QueryDocumentSnapshot, Timestamp } from 'firebase/firestore';

export interface CalendarView {
  calendarId: string;
  summary: string | null;
  timeZone: string | null;
  counts: { events: number; tombstones?: number };
  sync: {
    status: 'active' | 'needs_reauth' | 'error' | 'removed';
    mode: 'push' | 'poll';
    lastSyncedAt: Timestamp | null;
    lastError: { code: string; reason: string; at?: Timestamp } | null;
    nextRetryAt: Timestamp | null;
    quarantined: number;
    account?: string;
  };
}

export interface OccurrenceView {
  eventId: string;
  recurringEventId: string | null;
  sourceEventId: string;
  startAt: Timestamp;
  endAt: Timestamp;
  allDay: boolean;
  timeZone: string | null;
  summary: string | null;
  location: string | null;
  status: string;
}

function readOnly<T>(): FirestoreDataConverter<T> {
  return {
    toFirestore: () => {
      throw new Error('the mirror is read-only for clients');
    },
    fromFirestore: (snap: QueryDocumentSnapshot) => snap.data() as T,
  };
}

export const calendarConverter = readOnly<CalendarView>();
export const occurrenceConverter = readOnly<OccurrenceView>();
