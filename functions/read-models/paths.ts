// Where the mirror's user-readable documents live, with the id encoding calsync uses (runs in Node and browsers alike).

/** URL-safe base64 without padding, from the UTF-8 bytes of `text` (Buffer's `base64url`). */
function base64url(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Calendar and event ids as document ids. Google's ids never contain `/`, but calendar ids may
 * contain `#` (holiday calendars) and are at most a few hundred bytes: only `/` and the reserved
 * `.`/`..`/`__x__` forms need escaping (`~` + base64url).
 */
export function encodeDocId(id: string): string {
  if (id === '.' || id === '..' || /^__.*__$/.test(id) || id.includes('/')) {
    return `~${base64url(id)}`;
  }
  return id;
}

/** `users/{uid}/calendars`: the user's connected calendars. */
export const calendarsPath = (uid: string) => `users/${uid}/calendars`;

export const calendarPath = (uid: string, calendarId: string) =>
  `${calendarsPath(uid)}/${encodeDocId(calendarId)}`;

export const eventsPath = (uid: string, calendarId: string) =>
  `${calendarPath(uid, calendarId)}/events`;

export const eventPath = (uid: string, calendarId: string, eventId: string) =>
  `${eventsPath(uid, calendarId)}/${encodeDocId(eventId)}`;

export const occurrencesPath = (uid: string, calendarId: string) =>
  `${calendarPath(uid, calendarId)}/occurrences`;
