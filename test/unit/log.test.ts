// The logger writes Cloud Logging JSON lines and redacts secrets itself, whatever the caller passes.
import { describe, expect, it } from 'vitest';
import {
  createLogger,
  knownSecretCount,
  MAX_PINNED_SECRETS,
  MAX_RUNTIME_SECRETS,
  pinSecret,
  registerSecret,
  REDACTED,
} from '../../functions/log.js';

function capture(level?: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR') {
  const lines: string[] = [];
  const logger = createLogger({ level, write: (l) => lines.push(l) });
  return {
    logger,
    lines,
    entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('log', () => {
  it('writes one JSON line with severity, message and fields', () => {
    const { logger, lines, entries } = capture();
    logger
      .child({ subscriptionId: 's_1' })
      .warn('channel rejected', { reason: 'bad token', channelId: 'c1' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    expect(entries()[0]).toMatchObject({
      severity: 'WARNING',
      message: 'channel rejected',
      subscriptionId: 's_1',
      reason: 'bad token',
      channelId: 'c1',
    });
  });

  it('drops entries below the level', () => {
    const { logger, lines } = capture('WARNING');
    logger.debug('d');
    logger.info('i');
    logger.error('e');
    expect(lines.map((l) => JSON.parse(l).severity)).toEqual(['ERROR']);
  });

  it('never prints a secret, whichever way it is passed', () => {
    const refresh = '1//0gLongRefreshTokenValue-abcdefghijklmnop';
    const access = 'ya29.a0AfH6SMBxAccessTokenValue123456';
    const channelToken =
      'v1.s_abcdefghijklmnopqrstuvwx.0123456789abcdefghijklmnopqrstuvwxyzABCDEFG';
    const configured = 'configured-channel-secret-value-xyz-123456';
    registerSecret(configured);
    const { logger, lines } = capture('DEBUG');
    logger.info(`refreshing with ${refresh}`, {
      headers: {
        Authorization: `Bearer ${access}`,
        'X-Goog-Channel-Token': channelToken,
        'X-Goog-Channel-ID': 'chan-1',
      },
      refresh_token: refresh,
      nested: { deeper: [{ accessToken: access }, `token=${access}&x=1`] },
      note: `secret is ${configured}`,
      channelToken,
      syncToken: 'CPDAlvWDx70CEPDAlvWDx70CGAU=',
      key: Buffer.alloc(32, 1),
    });
    const err = Object.assign(new Error(`request failed for ${access}`), {
      status: 401,
      config: { headers: { Authorization: `Bearer ${access}` } },
    });
    logger.error('google call failed', { err });
    const out = lines.join('\n');
    for (const secret of [
      refresh,
      access,
      channelToken,
      configured,
      'CPDAlvWDx70CEPDAlvWDx70CGAU=',
    ]) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain(REDACTED);
    expect(out).toContain('chan-1'); // harmless fields survive
    expect(JSON.parse(lines[1]!).err).toMatchObject({ name: 'Error', status: 401 });
  });

  it('survives circular fields', () => {
    const { logger, entries } = capture();
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    logger.info('circular', { a });
    expect(entries()[0]!.a).toEqual({ name: 'a', self: '[circular]' });
  });
});

describe('known secrets stay bounded (issue 13.11)', () => {
  it('a long-lived instance seeing many tokens keeps at most MAX_RUNTIME_SECRETS of them', () => {
    const configured = 'pinned-channel-secret-value-0123456789';
    pinSecret(configured);
    for (let i = 0; i < 10_000; i++) registerSecret(`opaque-simulator-token-${i}-xxxxxxxx`);
    const count = knownSecretCount();
    expect(count.runtime).toBeLessThanOrEqual(MAX_RUNTIME_SECRETS);
    expect(count.pinned).toBeLessThanOrEqual(MAX_PINNED_SECRETS);
    const { logger, lines } = capture();
    logger.info(`newest opaque-simulator-token-9999-xxxxxxxx and ${configured}`);
    // The newest run-time token and the pinned configuration secret are still blanked...
    expect(lines[0]).not.toContain('opaque-simulator-token-9999-xxxxxxxx');
    expect(lines[0]).not.toContain(configured);
    // ...the oldest was forgotten (the patterns, not the set, cover real token shapes).
    logger.info('oldest opaque-simulator-token-0-xxxxxxxx');
    expect(lines[1]).toContain('opaque-simulator-token-0-xxxxxxxx');
  });

  it('tokens in shapes the patterns catch are not stored at all, and are still redacted', () => {
    const before = knownSecretCount().runtime;
    const shaped = [
      '1//0gRefreshTokenOfSomeLength-abcdefghij',
      'ya29.a0AccessTokenValue-0123456789',
      'v2.s_abcdefghijklmnopqrstuvwx.1921281232.0123456789abcdefghijklmnopqrstuvwxyzABCDEFG',
    ];
    for (const t of shaped) registerSecret(t);
    expect(knownSecretCount().runtime).toBe(before);
    const { logger, lines } = capture();
    logger.info(`tokens: ${shaped.join(' ')}`);
    for (const t of shaped) expect(lines[0]).not.toContain(t);
  });

  it('re-registering a token keeps it young (least recently seen goes first)', () => {
    registerSecret('keep-me-around-token-value');
    for (let i = 0; i < MAX_RUNTIME_SECRETS - 1; i++) {
      registerSecret(`filler-${i}-token-value`);
      if (i % 10 === 0) registerSecret('keep-me-around-token-value');
    }
    registerSecret('one-more-token-value-x');
    const { logger, lines } = capture();
    logger.info('keep-me-around-token-value');
    expect(lines[0]).not.toContain('keep-me-around-token-value');
  });
});
