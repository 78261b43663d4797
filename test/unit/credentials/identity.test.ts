// The OAuth revoke endpoint next to the token endpoint: Google's in production, the simulator's on loopback.
import { describe, expect, it } from 'vitest';
import { CALSYNC_SCOPES, revokeUrl } from '../../../functions/credentials/identity.js';

describe('revokeUrl', () => {
  it("is Google's revoke endpoint for Google's token endpoints", () => {
    expect(revokeUrl('https://oauth2.googleapis.com/token')).toBe(
      'https://oauth2.googleapis.com/revoke',
    );
    expect(revokeUrl('https://www.googleapis.com/oauth2/v4/token')).toBe(
      'https://oauth2.googleapis.com/revoke',
    );
  });

  it("is the simulator's /revoke next to its /token on loopback", () => {
    expect(revokeUrl('http://127.0.0.1:8790/token')).toBe('http://127.0.0.1:8790/revoke');
  });
});

describe('CALSYNC_SCOPES', () => {
  it('asks for openid and email (the account) besides read-only Calendar access', () => {
    expect(CALSYNC_SCOPES).toEqual([
      'openid',
      'email',
      'https://www.googleapis.com/auth/calendar.readonly',
    ]);
  });
});
