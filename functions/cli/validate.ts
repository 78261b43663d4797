// Flag validation for the CLI: user ids, calendar ids and refresh tokens checked before anything runs.
import { UsageError } from './errors.js';

/** A Firebase Auth uid / Firestore document id: 1-128 chars, no `/`, not `.`/`..`/`__x__`. */
export function validUid(value: unknown): string {
  const v = typeof value === 'string' ? value.trim() : '';
  if (v === '') throw new UsageError('--user needs a user id');
  if (v.length > 128) throw new UsageError('--user must be at most 128 characters');
  if (v.includes('/') || v === '.' || v === '..' || /^__.*__$/.test(v) || /\s/.test(v)) {
    throw new UsageError('--user must not contain "/" or whitespace, nor be "." / ".." / "__x__"');
  }
  return v;
}

/** A calendar id as Google spells it (an email-like id, `primary`, or a group calendar id). */
export function validCalendarId(value: unknown): string {
  const v = typeof value === 'string' ? value.trim() : '';
  if (v === '') throw new UsageError('--calendar needs a calendar id (or "primary")');
  if (v.length > 1024 || /[\s/]/.test(v)) {
    throw new UsageError('--calendar must be a calendar id without whitespace or "/"');
  }
  return v;
}

/** A refresh token: printable ASCII without whitespace. The message never echoes it. */
export function validRefreshToken(value: unknown): string {
  const v = typeof value === 'string' ? value.trim() : '';
  if (v === '')
    throw new UsageError('--refresh-token needs a value (or "-" to read it from stdin)');
  if (v.length > 2048 || !/^[\x21-\x7e]+$/.test(v)) {
    throw new UsageError('--refresh-token does not look like an OAuth refresh token');
  }
  return v;
}

export function validPort(value: unknown): number {
  const s = typeof value === 'string' ? value.trim() : String(value);
  if (!/^\d{1,5}$/.test(s) || Number(s) > 65535) {
    throw new UsageError('--port must be a TCP port number (0 picks a free one)');
  }
  return Number(s);
}
