// Stable identifiers: a subscription id derived from (uid, calendarId), safe in document ids and channel tokens.
import { createHash } from 'node:crypto';

/**
 * `s_` + 24 base64url characters of SHA-256(uid NUL calendarId). Deterministic, so connecting the
 * same calendar twice finds the same subscription; contains no `.` or `/`, so it fits in a channel
 * token (`v1.<subscriptionId>.<mac>`) and in a Firestore document id.
 */
export function subscriptionIdFor(uid: string, calendarId: string): string {
  const digest = createHash('sha256').update(`${uid}\u0000${calendarId}`).digest('base64url');
  return `s_${digest.slice(0, 24)}`;
}

export const SUBSCRIPTION_ID_PATTERN = /^s_[A-Za-z0-9_-]{24}$/;
