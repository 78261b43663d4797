// Pure parsing and validation of Google's push-notification headers (X-Goog-*); never echoes values.
import type { IncomingHttpHeaders } from 'node:http';

export type ResourceState = 'sync' | 'exists' | 'not_exists';
export const RESOURCE_STATES: readonly ResourceState[] = ['sync', 'exists', 'not_exists'];

/** A notification whose headers are well-formed (the token is not verified yet). */
export interface NotificationHeaders {
  readonly channelId: string;
  /** Raw X-Goog-Channel-Token; undefined when absent. Never log it. */
  readonly token: string | undefined;
  readonly resourceId: string;
  readonly state: ResourceState;
  readonly messageNumber: number;
  readonly resourceUri: string | undefined;
  readonly channelExpiration: Date | undefined;
}

export type HeaderProblem =
  | 'missing_channel_id'
  | 'malformed_channel_id'
  | 'missing_resource_id'
  | 'malformed_resource_id'
  | 'missing_resource_state'
  | 'unknown_resource_state'
  | 'missing_message_number'
  | 'malformed_message_number'
  | 'malformed_resource_uri'
  | 'malformed_channel_expiration';

export type ParsedHeaders =
  { ok: true; value: NotificationHeaders } | { ok: false; problem: HeaderProblem; header: string };

export const HEADER = {
  channelId: 'x-goog-channel-id',
  token: 'x-goog-channel-token',
  resourceId: 'x-goog-resource-id',
  state: 'x-goog-resource-state',
  messageNumber: 'x-goog-message-number',
  resourceUri: 'x-goog-resource-uri',
  expiration: 'x-goog-channel-expiration',
} as const;

/** Display names, for short response bodies ("missing X-Goog-Channel-ID"). */
const DISPLAY: Record<string, string> = {
  [HEADER.channelId]: 'X-Goog-Channel-ID',
  [HEADER.token]: 'X-Goog-Channel-Token',
  [HEADER.resourceId]: 'X-Goog-Resource-ID',
  [HEADER.state]: 'X-Goog-Resource-State',
  [HEADER.messageNumber]: 'X-Goog-Message-Number',
  [HEADER.resourceUri]: 'X-Goog-Resource-URI',
  [HEADER.expiration]: 'X-Goog-Channel-Expiration',
};

export function displayName(header: string): string {
  return DISPLAY[header] ?? header;
}

/** Channel ids are chosen by us at events.watch: Google allows up to 64 characters. */
const CHANNEL_ID = /^[\x21-\x7e]{1,64}$/;
/** Opaque id Google gives the watched resource; shape only, the worker compares it with the stored channel. */
const RESOURCE_ID = /^[\x21-\x7e]{1,512}$/;
/** Increasing, not consecutive; kept within the safe-integer range. */
const MESSAGE_NUMBER = /^\d{1,15}$/;
/** RFC 1123 date as Google sends it: `Tue, 19 Nov 2013 01:13:52 GMT`. */
const RFC1123 =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const MAX_URI_LENGTH = 2048;

/** One header value, or undefined when absent or empty. Repeated headers arrive joined by ", ". */
function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(', ') : value;
  return text === '' ? undefined : text;
}

/** True when the request carries any X-Goog-* header (used to keep health checks distinct). */
export function hasGoogleHeaders(headers: IncomingHttpHeaders): boolean {
  return Object.keys(headers).some((name) => name.toLowerCase().startsWith('x-goog-'));
}

export function parseRfc1123(value: string): Date | undefined {
  const m = RFC1123.exec(value);
  if (!m) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return undefined;
  // Reject dates JavaScript silently rolls over (31 Feb) by reading the fields back.
  const [, , day, , year, hh, mm, ss] = m;
  const ok =
    date.getUTCDate() === Number(day) &&
    date.getUTCFullYear() === Number(year) &&
    date.getUTCHours() === Number(hh) &&
    date.getUTCMinutes() === Number(mm) &&
    date.getUTCSeconds() === Number(ss);
  return ok ? date : undefined;
}

function validUri(value: string): boolean {
  if (value.length > MAX_URI_LENGTH) return false;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/** Validates the notification headers; the first problem found wins (checked in header order). */
export function parseNotificationHeaders(headers: IncomingHttpHeaders): ParsedHeaders {
  const fail = (problem: HeaderProblem, header: string): ParsedHeaders => ({
    ok: false,
    problem,
    header,
  });

  const channelId = single(headers, HEADER.channelId);
  if (channelId === undefined) return fail('missing_channel_id', HEADER.channelId);
  if (!CHANNEL_ID.test(channelId)) return fail('malformed_channel_id', HEADER.channelId);

  const resourceId = single(headers, HEADER.resourceId);
  if (resourceId === undefined) return fail('missing_resource_id', HEADER.resourceId);
  if (!RESOURCE_ID.test(resourceId)) return fail('malformed_resource_id', HEADER.resourceId);

  const state = single(headers, HEADER.state);
  if (state === undefined) return fail('missing_resource_state', HEADER.state);
  if (!(RESOURCE_STATES as readonly string[]).includes(state)) {
    return fail('unknown_resource_state', HEADER.state);
  }

  const number = single(headers, HEADER.messageNumber);
  if (number === undefined) return fail('missing_message_number', HEADER.messageNumber);
  if (!MESSAGE_NUMBER.test(number)) return fail('malformed_message_number', HEADER.messageNumber);

  const resourceUri = single(headers, HEADER.resourceUri);
  if (resourceUri !== undefined && !validUri(resourceUri)) {
    return fail('malformed_resource_uri', HEADER.resourceUri);
  }

  const expirationText = single(headers, HEADER.expiration);
  const channelExpiration = expirationText === undefined ? undefined : parseRfc1123(expirationText);
  if (expirationText !== undefined && channelExpiration === undefined) {
    return fail('malformed_channel_expiration', HEADER.expiration);
  }

  return {
    ok: true,
    value: {
      channelId,
      token: single(headers, HEADER.token),
      resourceId,
      state: state as ResourceState,
      messageNumber: Number(number),
      resourceUri,
      channelExpiration,
    },
  };
}

/** A loggable channel id: the header as received, cut short, or undefined when absent. */
export function channelIdForLog(headers: IncomingHttpHeaders): string | undefined {
  const value = single(headers, HEADER.channelId);
  return value === undefined ? undefined : value.slice(0, 80);
}
