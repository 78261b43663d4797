// `calsync keys` and `calsync migrate-accounts`: which key sealed each credential (re-seal on demand), and the one-off move of legacy credentials to per-account documents.
import { classifyGoogleError } from '../../calendar/errors.js';
import { identifyAccount, IdentifyError } from '../../credentials/identity.js';
import { keysReport, type KeysReport } from '../../credentials/keys.js';
import { migrateAccounts, type MigrationReport } from '../../credentials/migrate.js';
import type { CliDeps } from '../deps.js';
import { table } from '../format.js';

export async function keys(deps: CliDeps, reseal: boolean): Promise<KeysReport> {
  return keysReport(deps.db, deps.config.tokenKeys, { reseal, progress: deps.progress });
}

export function formatKeys(r: KeysReport): string {
  const role = (id: string) =>
    id === r.currentKeyId ? 'current' : id === r.previousKeyId ? 'previous' : 'not configured';
  let out = table(
    ['KEY ID', 'ROLE', 'CREDENTIALS'],
    Object.entries(r.byKey).map(([id, n]) => [id, role(id), String(n)]),
  );
  const who = (e: { uid: string; email: string | null; accountId: string | null }) =>
    `${e.uid} ${e.email ?? e.accountId ?? '(legacy)'}`;
  if (r.onPreviousKey.length > 0) {
    out += `\nstill sealed with the previous key (${r.onPreviousKey.length}): ${r.onPreviousKey.map(who).join(', ')}\n`;
    out += 'run `calsync keys --reseal` before removing CALSYNC_TOKEN_KEY_PREVIOUS\n';
  } else {
    out += '\nno credential needs the previous key: CALSYNC_TOKEN_KEY_PREVIOUS can be removed\n';
  }
  if (r.unreadable.length > 0) {
    out += `unreadable (no configured key; these users must connect again): ${r.unreadable.map(who).join(', ')}\n`;
  }
  if (r.resealed > 0 || r.failed.length > 0) {
    out += `re-sealed with the current key: ${r.resealed}; failed: ${r.failed.length}\n`;
  }
  return out;
}

export async function migrate(deps: CliDeps, dryRun: boolean): Promise<MigrationReport> {
  const { config } = deps;
  return migrateAccounts(
    deps.db,
    config.tokenKeys,
    async (token) =>
      (
        await identifyAccount(config.oauth, token, {
          timeoutMs: config.googleTimeoutMs,
          primaryCalendarId: async () =>
            (
              await deps
                .calendarApi(token, { retryBudgetMs: config.retryBudgetMs })
                .getCalendar('primary')
            ).id,
        })
      ).account,
    {
      dryRun,
      progress: deps.progress,
      isInvalidGrant: (err) =>
        err instanceof IdentifyError
          ? err.kind === 'invalid_grant'
          : classifyGoogleError(err).kind === 'invalid_grant',
    },
  );
}
