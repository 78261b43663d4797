// Firestore converters for the Admin SDK (`calsync/read-models/admin`): typed reads of the mirror on a server.
import type {
  DocumentData,
  FirestoreDataConverter,
  QueryDocumentSnapshot,
  Timestamp,
} from '@google-cloud/firestore';
import { readCalendar } from './read.js';
import type { MirrorDocument, OccurrenceDocument } from './types.js';

export * from './index.js';

/** Reads documents into `M`; writes pass through (calsync's functions are the mirror's only writers). */
function readOnly<M>(read: (data: DocumentData) => M): FirestoreDataConverter<M, DocumentData> {
  return {
    toFirestore: (model) => model as DocumentData,
    fromFirestore: (snapshot: QueryDocumentSnapshot) => read(snapshot.data()),
  };
}

/** `users/{uid}/calendars/{calendarId}` (fields a document lacks read as their defaults). */
export const calendarConverter = readOnly((data) => readCalendar<Timestamp>(data));
/** `…/events/{eventId}`: live events and tombstones (`isTombstone`). */
export const eventConverter = readOnly((data) => data as MirrorDocument<Timestamp>);
/** `…/occurrences/{occurrenceId}`. */
export const occurrenceConverter = readOnly((data) => data as OccurrenceDocument<Timestamp>);
