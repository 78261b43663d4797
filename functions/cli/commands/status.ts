// `calsync status`: one row per subscription (user, Google account, calendar, status, mode, last sync, channel expiry, last notification, last error), as a table or JSON; counts channels still on v1 tokens.
import type { Timestamp } from '@google-cloud/firestore';
import {
  CALENDAR_LIST_WATCHES,
  type CalendarListWatchDoc,
} from '../../store/calendar-list-watches.js';
import {
  CREDENTIAL_ACCOUNTS,
  paths,
  type ChannelRecord,
  type CredentialsDoc,
  type SubscriptionDoc,
} from '../../store/schema.js';
import { allSubscriptions, subscriptionsOfUser } from '../../store/subscriptions-query.js';
import type { CliDeps } from '../deps.js';
import { ago, clip, table, until } from '../format.js';

export interface StatusRow {
  subscriptionId: string;
  user: string;
  /** The Google account (email, else account id) the calendar syncs with; null: legacy, unbound. */
  account: string | null;
  calendar: string;
  status: string;
  mode: string;
  lastSyncedAt: string | null;
  channelExpiresAt: string | null;
  lastNotificationAt: string | null;
  lastError: { code: string; reason: string; at: string | null } | null;
  /** While `error`: the next automatic retry. */
  nextRetryAt: string | null;
  /** Failed syncs in a row. */
  failures: number;
}

export interface CalendarListRow {
  user: string;
  status: string;
  channelExpiresAt: string | null;
  lastReconciledAt: string | null;
}

export interface StatusReport {
  /** ISO time the report was made (relative columns are computed from it). */
  now: string;
  subscriptions: StatusRow[];
  calendarLists: CalendarListRow[];
  /**
   * Live channels whose token is still v1 (no expiry inside). Once 0 — every channel renewed at
   * least once since v2 — CALSYNC_CHANNEL_TOKEN_V1=reject is safe.
   */
  v1Channels: number;
}

const iso = (t: Timestamp | null | undefined) => (t ? t.toDate().toISOString() : null);

export async function status(deps: CliDeps, uid?: string): Promise<StatusReport> {
  const now = deps.now();
  const query = uid ? subscriptionsOfUser(deps.db, uid) : allSubscriptions(deps.db);
  const subs = await query.get();
  const emails = await accountEmails(deps, uid);
  let v1Channels = 0;
  const rows: StatusRow[] = subs.docs.map((d) => {
    const s = d.data() as SubscriptionDoc;
    v1Channels += v1Count(now, s.channel, s.previousChannel);
    return {
      subscriptionId: d.id,
      user: s.uid,
      account: s.accountId ? (emails.get(`${s.uid}\u0000${s.accountId}`) ?? s.accountId) : null,
      calendar: s.calendarId,
      status: s.status,
      mode: s.mode,
      lastSyncedAt: iso(s.lastSyncedAt),
      channelExpiresAt: iso(s.channelExpiresAt),
      lastNotificationAt: iso(s.lastNotificationAt),
      lastError: s.lastError
        ? { code: s.lastError.code, reason: s.lastError.reason, at: iso(s.lastError.at) }
        : null,
      nextRetryAt: iso(s.nextRetryAt),
      failures: s.failures ?? 0,
    };
  });
  rows.sort((a, b) => a.user.localeCompare(b.user) || a.calendar.localeCompare(b.calendar));
  let lists = deps.db
    .collection(CALENDAR_LIST_WATCHES)
    .select('uid', 'status', 'channelExpiresAt', 'lastReconciledAt', 'channel', 'previousChannel');
  if (uid) lists = lists.where('uid', '==', uid);
  const watches = (await lists.get()).docs.map((d) => {
    const w = d.data() as Partial<CalendarListWatchDoc>;
    v1Channels += v1Count(now, w.channel, w.previousChannel);
    return {
      user: w.uid ?? '',
      status: w.status ?? '',
      channelExpiresAt: iso(w.channelExpiresAt),
      lastReconciledAt: iso(w.lastReconciledAt),
    };
  });
  return {
    now: new Date(now).toISOString(),
    subscriptions: rows,
    calendarLists: watches,
    v1Channels,
  };
}

/** Live channels without a v2 token. */
function v1Count(now: number, ...channels: (ChannelRecord | null | undefined)[]): number {
  return channels.filter((c) => c && c.expiration.toMillis() > now && c.tokenVersion !== 2).length;
}

/** `uid NUL accountId` → the account's address, for every account (of `uid`, when given). */
async function accountEmails(deps: CliDeps, uid?: string): Promise<Map<string, string>> {
  const query = uid
    ? deps.db.collection(paths.accounts(uid))
    : deps.db.collectionGroup(CREDENTIAL_ACCOUNTS);
  const snap = await query.select('uid', 'accountId', 'email').get();
  const out = new Map<string, string>();
  for (const d of snap.docs) {
    const c = d.data() as Partial<CredentialsDoc>;
    if (c.uid && c.accountId && c.email) out.set(`${c.uid}\u0000${c.accountId}`, c.email);
  }
  return out;
}

const ms = (s: string | null) => (s === null ? null : Date.parse(s));

/**
 * `status --stale`: calendars that are not `active`, or not synced within the safety-net period
 * (never synced included) — each with why and when the next try is.
 */
export function staleOnly(report: StatusReport, safetyNetMs: number): StatusReport {
  const now = Date.parse(report.now);
  const stale = (r: StatusRow) => {
    const synced = ms(r.lastSyncedAt);
    return r.status !== 'active' || synced === null || synced < now - safetyNetMs;
  };
  return { ...report, subscriptions: report.subscriptions.filter(stale), calendarLists: [] };
}

/** Who or what retries a stale calendar, and when. */
export function nextTry(r: StatusRow, now: number): string {
  switch (r.status) {
    case 'needs_reauth':
      return 'needs a person: calsync connect';
    case 'removed':
      return 'needs a person: calsync connect (if it comes back)';
    case 'error':
      return r.nextRetryAt
        ? `retry ${until(ms(r.nextRetryAt), now)}`
        : 'retry on the next hourly run';
    default:
      return 'safety-net sync on the next hourly run';
  }
}

/** The table of `status --stale`. */
export function formatStale(report: StatusReport): string {
  const now = Date.parse(report.now);
  if (report.subscriptions.length === 0) return 'no stale calendars\n';
  return table(
    ['USER', 'CALENDAR', 'STATUS', 'LAST SYNC', 'FAILURES', 'WHY', 'NEXT TRY'],
    report.subscriptions.map((r) => [
      clip(r.user, 28),
      clip(r.calendar, 40),
      r.status,
      ago(ms(r.lastSyncedAt), now),
      String(r.failures),
      r.lastError ? clip(`${r.lastError.code}: ${r.lastError.reason}`, 60) : 'not synced recently',
      nextTry(r, now),
    ]),
  );
}

/** The terminal table. */
export function formatStatus(report: StatusReport): string {
  const now = Date.parse(report.now);
  if (report.subscriptions.length === 0 && report.calendarLists.length === 0) {
    return 'no calendars connected\n';
  }
  const headers = [
    'USER',
    'ACCOUNT',
    'CALENDAR',
    'STATUS',
    'MODE',
    'LAST SYNC',
    'CHANNEL EXPIRES IN',
    'LAST NOTIFICATION',
    'LAST ERROR',
  ];
  const rows = report.subscriptions.map((r) => [
    clip(r.user, 28),
    clip(r.account ?? '(legacy)', 32),
    clip(r.calendar, 40),
    r.status,
    r.mode,
    ago(ms(r.lastSyncedAt), now),
    r.mode === 'poll' ? 'n/a (polling)' : until(ms(r.channelExpiresAt), now),
    ago(ms(r.lastNotificationAt), now),
    r.lastError ? clip(`${r.lastError.code}: ${r.lastError.reason}`, 60) : '-',
  ]);
  let out = table(headers, rows);
  out +=
    report.v1Channels > 0
      ? `\n${report.v1Channels} live channel(s) still carry v1 tokens: keep CALSYNC_CHANNEL_TOKEN_V1=accept until this is 0\n`
      : '\nall live channels carry v2 tokens (CALSYNC_CHANNEL_TOKEN_V1=reject is safe)\n';
  if (report.calendarLists.length > 0) {
    out +=
      '\n' +
      table(
        ['USER (--all)', 'CALENDAR LIST', 'CHANNEL EXPIRES IN', 'LAST RECONCILED'],
        report.calendarLists.map((w) => [
          clip(w.user, 28),
          w.status,
          until(ms(w.channelExpiresAt), now),
          ago(ms(w.lastReconciledAt), now),
        ]),
      );
  }
  return out;
}
