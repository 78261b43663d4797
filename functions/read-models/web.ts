// Firestore converters for the web SDK (`calsync/read-models/web`): all a browser client needs — types, paths, converters — and nothing of the server.
import type * as web from 'firebase/firestore';
import { readCalendar } from './read.js';
import type { MirrorDocument, OccurrenceDocument } from './types.js';

export * from './index.js';

type Timestamp = web.Timestamp;

/** Reads documents into `M`; writes pass through (the security rules refuse client writes anyway). */
function readOnly<M>(read: (data: web.DocumentData) => M): web.FirestoreDataConverter<M> {
  return {
    fromFirestore: (snapshot: web.QueryDocumentSnapshot, options?: web.SnapshotOptions) =>
      read(snapshot.data(options)),
    toFirestore: (model) => model as web.DocumentData,
  };
}

/** `users/{uid}/calendars/{calendarId}` (fields a document lacks read as their defaults). */
export const calendarConverter = readOnly((data) => readCalendar<Timestamp>(data));
/** `…/events/{eventId}`: live events and tombstones (`isTombstone`). */
export const eventConverter = readOnly((data) => data as MirrorDocument<Timestamp>);
/** `…/occurrences/{occurrenceId}`: "this week" is a `startAt` range query on it. */
export const occurrenceConverter = readOnly((data) => data as OccurrenceDocument<Timestamp>);
