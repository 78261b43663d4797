// Unit: the renewal decision table (renew / missing / expired / silent / none) and stopping a channel.
import { describe, expect, it } from 'vitest';
import type { CalendarApi } from '../../../functions/calendar/api.js';
import { CalendarError } from '../../../functions/calendar/errors.js';
import { channelNeed, type ChannelState } from '../../../functions/channels/decide.js';
import { stopChannelRecord } from '../../../functions/channels/lifecycle.js';
import { createLogger } from '../../../functions/log.js';

const H = 3600_000;
const D = 24 * H;
const cfg = { renewWindowMs: 24 * H, silentChannelMs: 3 * D };
const now = 100 * D;
const base: ChannelState = {
  status: 'active',
  mode: 'push',
  channel: { expiration: now + 5 * D, createdAt: now - 2 * D },
  lastNotificationAt: now - H,
};

describe('channelNeed', () => {
  it.each<[string, Partial<ChannelState>, string]>([
    ['healthy channel', {}, 'none'],
    [
      'expires inside the window',
      { channel: { expiration: now + 23 * H, createdAt: now - 6 * D } },
      'renew',
    ],
    [
      'expires exactly at the window edge',
      { channel: { expiration: now + 24 * H, createdAt: now } },
      'renew',
    ],
    ['already expired', { channel: { expiration: now - 1, createdAt: now - 7 * D } }, 'expired'],
    ['no channel', { channel: null }, 'missing'],
    [
      'silent for 4 days, channel 4 days old',
      {
        lastNotificationAt: now - 4 * D,
        channel: { expiration: now + 3 * D, createdAt: now - 4 * D },
      },
      'silent',
    ],
    [
      'silent, but the channel is new',
      { lastNotificationAt: now - 4 * D, channel: { expiration: now + 7 * D, createdAt: now - H } },
      'none',
    ],
    [
      'never notified (a quiet calendar)',
      { lastNotificationAt: null, channel: { expiration: now + 3 * D, createdAt: now - 4 * D } },
      'none',
    ],
    ['needs_reauth', { status: 'needs_reauth', channel: null }, 'none'],
    ['removed', { status: 'removed', channel: { expiration: now - 1, createdAt: 0 } }, 'none'],
    ['polling mode', { mode: 'poll', channel: null }, 'none'],
  ])('%s -> %s', (_name, patch, need) => {
    expect(channelNeed({ ...base, ...patch }, now, cfg)).toBe(need);
  });
});

describe('stopChannelRecord', () => {
  const logger = createLogger({ write: () => undefined });
  const apiFailing = (err: unknown) =>
    ({ stopChannel: () => Promise.reject(err) }) as unknown as CalendarApi;
  const err = (kind: CalendarError['kind'], status?: number) =>
    new CalendarError({ kind, status, reason: undefined, message: kind });

  it('counts 404 / 410 as stopped, reports invalid_grant, never throws', async () => {
    const ch = { id: 'c', resourceId: 'r' };
    const ok = { stopChannel: () => Promise.resolve() } as unknown as CalendarApi;
    expect(await stopChannelRecord({ api: ok, logger }, ch)).toBe('stopped');
    expect(await stopChannelRecord({ api: apiFailing(err('not_found', 404)), logger }, ch)).toBe(
      'stopped',
    );
    expect(
      await stopChannelRecord({ api: apiFailing(err('sync_token_invalid', 410)), logger }, ch),
    ).toBe('stopped');
    expect(
      await stopChannelRecord({ api: apiFailing(err('invalid_grant', 400)), logger }, ch),
    ).toBe('invalid_grant');
    expect(await stopChannelRecord({ api: apiFailing(err('transient', 503)), logger }, ch)).toBe(
      'failed',
    );
  });
});
