// Unit tests of X-Goog-* header parsing: required and optional headers, shapes, limits, the seed's real set.
import { describe, expect, it } from 'vitest';
import {
  hasGoogleHeaders,
  parseNotificationHeaders,
  parseRfc1123,
} from '../../../functions/webhook/headers.js';
import {
  CHANNEL_ID,
  RESOURCE_ID,
  asIncoming,
  notificationHeaders,
  seedHeaders,
  unmaskedSeedHeaders,
} from '../../fixtures/notifications/notifications.js';

const parse = (overrides: Record<string, string | undefined> = {}) =>
  parseNotificationHeaders(asIncoming(notificationHeaders(overrides)));

describe('parseNotificationHeaders', () => {
  it('reads a complete notification', () => {
    const parsed = parse();
    expect(parsed).toEqual({
      ok: true,
      value: {
        channelId: CHANNEL_ID,
        token: expect.stringMatching(/^v2\./),
        resourceId: RESOURCE_ID,
        state: 'exists',
        messageNumber: 10,
        resourceUri: 'https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json',
        channelExpiration: new Date('2030-11-19T01:13:52Z'),
      },
    });
  });

  it('accepts each known state and treats optional headers as optional', () => {
    for (const state of ['sync', 'exists', 'not_exists']) {
      const parsed = parse({
        'X-Goog-Resource-State': state,
        'X-Goog-Resource-URI': undefined,
        'X-Goog-Channel-Expiration': undefined,
        'X-Goog-Channel-Token': undefined,
      });
      expect(parsed.ok && parsed.value.state).toBe(state);
      expect(parsed.ok && parsed.value.token).toBeUndefined();
    }
  });

  it.each([
    ['X-Goog-Channel-ID', undefined, 'missing_channel_id'],
    ['X-Goog-Channel-ID', '', 'missing_channel_id'],
    ['X-Goog-Channel-ID', 'x'.repeat(65), 'malformed_channel_id'],
    ['X-Goog-Channel-ID', 'has space', 'malformed_channel_id'],
    ['X-Goog-Channel-ID', 'caf\u00e9', 'malformed_channel_id'],
    ['X-Goog-Resource-ID', undefined, 'missing_resource_id'],
    ['X-Goog-Resource-ID', 'r'.repeat(513), 'malformed_resource_id'],
    ['X-Goog-Resource-ID', 'a b', 'malformed_resource_id'],
    ['X-Goog-Resource-State', undefined, 'missing_resource_state'],
    ['X-Goog-Resource-State', 'deleted', 'unknown_resource_state'],
    ['X-Goog-Resource-State', 'EXISTS', 'unknown_resource_state'],
    ['X-Goog-Resource-State', 'exists, exists', 'unknown_resource_state'],
    ['X-Goog-Message-Number', undefined, 'missing_message_number'],
    ['X-Goog-Message-Number', '-1', 'malformed_message_number'],
    ['X-Goog-Message-Number', '1.5', 'malformed_message_number'],
    ['X-Goog-Message-Number', '1e3', 'malformed_message_number'],
    ['X-Goog-Message-Number', '9'.repeat(16), 'malformed_message_number'],
    ['X-Goog-Message-Number', '12****9', 'malformed_message_number'],
    ['X-Goog-Resource-URI', 'not a url', 'malformed_resource_uri'],
    ['X-Goog-Resource-URI', 'ftp://example.com/x', 'malformed_resource_uri'],
    ['X-Goog-Resource-URI', `https://example.com/${'a'.repeat(2100)}`, 'malformed_resource_uri'],
    ['X-Goog-Channel-Expiration', '2030-11-19T01:13:52Z', 'malformed_channel_expiration'],
    ['X-Goog-Channel-Expiration', 'Tue, 19 Nov 2030 01:13:52 UTC', 'malformed_channel_expiration'],
    ['X-Goog-Channel-Expiration', 'Fri, 31 Feb 2030 01:13:52 GMT', 'malformed_channel_expiration'],
    ['X-Goog-Channel-Expiration', '1426325213000', 'malformed_channel_expiration'],
  ])('%s = %j → %s', (header, value, problem) => {
    const parsed = parse({ [header]: value });
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.problem).toBe(problem);
    expect(!parsed.ok && parsed.header).toBe(header.toLowerCase());
  });

  it('handles repeated headers (joined by Node) as malformed rather than picking one', () => {
    const headers = asIncoming(notificationHeaders());
    headers['x-goog-channel-id'] = `${CHANNEL_ID}, other`;
    const parsed = parseNotificationHeaders(headers);
    expect(!parsed.ok && parsed.problem).toBe('malformed_channel_id');
  });

  it('accepts message numbers up to 15 digits (safe integers)', () => {
    const parsed = parse({ 'X-Goog-Message-Number': '999999999999999' });
    expect(parsed.ok && parsed.value.messageNumber).toBe(999_999_999_999_999);
  });
});

describe("the seed write-up's real header set", () => {
  it('as published (masked message number) is refused as malformed, not crashed on', () => {
    const parsed = parseNotificationHeaders(asIncoming(seedHeaders()));
    expect(parsed).toEqual({
      ok: false,
      problem: 'malformed_message_number',
      header: 'x-goog-message-number',
    });
  });

  it('unmasked, parses into the values Google sent', () => {
    const parsed = parseNotificationHeaders(asIncoming(unmaskedSeedHeaders()));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value).toMatchObject({
      channelId: '977********d95b07be367',
      resourceId: 'ys7KY***********28',
      state: 'exists',
      messageNumber: 1200009,
      resourceUri:
        'https://www.googleapis.com/calendar/v3/calendars/cpg0504@gmail.com/events?maxResults=250&alt=json',
      channelExpiration: new Date('2017-01-28T19:22:46Z'),
    });
  });
});

describe('helpers', () => {
  it('parseRfc1123 reads Google’s date format only', () => {
    expect(parseRfc1123('Tue, 19 Nov 2013 01:13:52 GMT')).toEqual(new Date('2013-11-19T01:13:52Z'));
    expect(parseRfc1123('19 Nov 2013 01:13:52 GMT')).toBeUndefined();
    expect(parseRfc1123('Tue, 19 Nov 2013 25:13:52 GMT')).toBeUndefined();
  });

  it('hasGoogleHeaders spots any X-Goog-* header, in any case', () => {
    expect(hasGoogleHeaders({ 'user-agent': 'GoogleHC/1.0' })).toBe(false);
    expect(hasGoogleHeaders({ 'x-goog-channel-id': 'c' })).toBe(true);
    expect(hasGoogleHeaders({ 'X-Goog-Resource-State': 'sync' })).toBe(true);
  });
});
