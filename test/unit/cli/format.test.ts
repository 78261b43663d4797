// Unit: CLI output — durations, the status table, and its JSON twin.
import { describe, expect, it } from 'vitest';
import {
  formatStale,
  formatStatus,
  staleOnly,
  type StatusReport,
} from '../../../functions/cli/commands/status.js';
import { ago, humanDuration, table, until } from '../../../functions/cli/format.js';

describe('durations', () => {
  it.each([
    [0, '0s'],
    [59_000, '59s'],
    [60_000, '1m'],
    [3 * 3600_000, '3h'],
    [3 * 3600_000 + 5 * 60_000, '3h 5m'],
    [6 * 86400_000 + 23 * 3600_000, '6d 23h'],
    [2 * 86400_000, '2d'],
  ])('%d ms -> %s', (ms, text) => expect(humanDuration(ms)).toBe(text));

  it('ago / until', () => {
    expect(ago(null, 0)).toBe('never');
    expect(ago(0, 90_000)).toBe('1m ago');
    expect(until(null, 0)).toBe('-');
    expect(until(7_200_000, 0)).toBe('2h');
    expect(until(0, 7_200_000)).toBe('expired 2h ago');
  });
});

describe('status table', () => {
  const now = Date.parse('2030-01-10T12:00:00Z');
  const report: StatusReport = {
    now: new Date(now).toISOString(),
    subscriptions: [
      {
        subscriptionId: 's_a',
        user: 'alice',
        account: 'alice@example.com',
        calendar: 'alice@example.com',
        status: 'active',
        mode: 'push',
        lastSyncedAt: new Date(now - 5 * 60_000).toISOString(),
        channelExpiresAt: new Date(now + 6 * 86400_000 + 23 * 3600_000).toISOString(),
        lastNotificationAt: new Date(now - 2 * 3600_000).toISOString(),
        lastError: null,
        nextRetryAt: null,
        failures: 0,
      },
      {
        subscriptionId: 's_b',
        user: 'bob',
        account: null,
        calendar: 'en.usa#holiday@group.v.calendar.google.com',
        status: 'needs_reauth',
        mode: 'poll',
        lastSyncedAt: null,
        channelExpiresAt: null,
        lastNotificationAt: null,
        lastError: {
          code: 'invalid_grant',
          reason: 'Token has been expired or revoked.',
          at: null,
        },
        nextRetryAt: null,
        failures: 1,
      },
      {
        subscriptionId: 's_c',
        user: 'carol',
        account: 'carol@example.com',
        calendar: 'carol@example.com',
        status: 'error',
        mode: 'push',
        lastSyncedAt: new Date(now - 26 * 3600_000).toISOString(),
        channelExpiresAt: new Date(now + 3 * 86400_000).toISOString(),
        lastNotificationAt: null,
        lastError: { code: 'forbidden', reason: 'The administrator blocked the app', at: null },
        nextRetryAt: new Date(now + 4 * 3600_000).toISOString(),
        failures: 3,
      },
      {
        subscriptionId: 's_d',
        user: 'dave',
        account: 'dave@example.com',
        calendar: 'dave@example.com',
        status: 'active',
        mode: 'push',
        lastSyncedAt: new Date(now - 7 * 3600_000).toISOString(),
        channelExpiresAt: new Date(now + 3 * 86400_000).toISOString(),
        lastNotificationAt: null,
        lastError: null,
        nextRetryAt: null,
        failures: 0,
      },
    ],
    calendarLists: [],
    v1Channels: 0,
  };

  it('aligns one row per subscription with every column', () => {
    const out = formatStatus(report);
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^USER\s+ACCOUNT\s+CALENDAR\s+STATUS\s+MODE\s+LAST SYNC\s+CHANNEL EXPIRES IN\s+LAST NOTIFICATION\s+LAST ERROR$/,
    );
    expect(lines[1]).toMatch(
      /^alice\s+alice@example.com\s+alice@example.com\s+active\s+push\s+5m ago\s+6d 23h\s+2h ago\s+-$/,
    );
    expect(lines[2]).toMatch(
      /bob\s+\(legacy\) .*needs_reauth\s+poll\s+never\s+n\/a \(polling\)\s+never\s+invalid_grant: Token/,
    );
    const col = lines[0]!.indexOf('STATUS');
    expect(lines[1]!.indexOf('active')).toBe(col);
    expect(lines[2]!.indexOf('needs_reauth')).toBe(col);
    expect(out).toContain('all live channels carry v2 tokens');
  });

  it('tells the operator how many live channels still carry v1 tokens', () => {
    expect(formatStatus({ ...report, v1Channels: 3 })).toContain(
      '3 live channel(s) still carry v1 tokens: keep CALSYNC_CHANNEL_TOKEN_V1=accept',
    );
  });

  it('--stale: only calendars not active or not synced within the safety net, with why and the next try', () => {
    const stale = staleOnly(report, 6 * 3600_000);
    expect(stale.subscriptions.map((r) => r.user)).toEqual(['bob', 'carol', 'dave']);
    const lines = formatStale(stale).trimEnd().split('\n');
    expect(lines[0]).toMatch(/^USER\s+CALENDAR\s+STATUS\s+LAST SYNC\s+FAILURES\s+WHY\s+NEXT TRY$/);
    expect(lines[1]).toMatch(
      /bob .*needs_reauth .*invalid_grant: Token .*needs a person: calsync connect/,
    );
    expect(lines[2]).toMatch(
      /carol .*error\s+1d 2h ago\s+3\s+forbidden: The administrator .*retry 4h$/,
    );
    expect(lines[3]).toMatch(/dave .*active\s+7h ago\s+0\s+not synced recently\s+safety-net sync/);
    expect(
      formatStale(
        staleOnly({ ...report, subscriptions: [report.subscriptions[0]!] }, 6 * 3600_000),
      ),
    ).toBe('no stale calendars\n');
  });

  it('says so when nothing is connected', () => {
    expect(formatStatus({ ...report, subscriptions: [] })).toBe('no calendars connected\n');
  });

  it('table() pads all but the last column', () => {
    expect(table(['A', 'BB'], [['xxx', 'y']])).toBe('A    BB\nxxx  y\n');
  });
});
