// calsync's read models (`calsync/read-models`): the mirror's document types, paths and readers, free of any SDK; converters live in ./admin.ts and ./web.ts.
export type * from './types.js';
export {
  calendarPath,
  calendarsPath,
  encodeDocId,
  eventPath,
  eventsPath,
  occurrencesPath,
} from './paths.js';
export { isTombstone, readCalendar } from './read.js';
