// `calsync disconnect`: stop channels, delete the subscription, optionally the mirrored data (in batches); once an account has no calendar left, revoke its grant at Google and delete its credentials.
import type { Firestore } from '@google-cloud/firestore';
import { UserApis, type AccountRef } from '../../channels/deps.js';
import { stopChannelRecord, type StopOutcome } from '../../channels/lifecycle.js';
import { revokeGrant, type RevokeOutcome } from '../../credentials/identity.js';
import { deleteCredentials, listAccounts, loadRefreshToken } from '../../credentials/store.js';
import {
  calendarListWatchesOfUser,
  calendarListWatchPath,
  type CalendarListWatchDoc,
} from '../../store/calendar-list-watches.js';
import { recordRetiredChannel } from '../../store/retired-channels.js';
import {
  CREDENTIAL_ACCOUNTS,
  paths,
  type ChannelRecord,
  type SubscriptionDoc,
} from '../../store/schema.js';
import { subscriptionsOfUser } from '../../store/subscriptions-query.js';
import type { CliDeps } from '../deps.js';
import { CliError } from '../errors.js';
import { resolveSubscription } from './resolve.js';

export interface DisconnectInput {
  uid: string;
  /** One calendar, or undefined with `all` for every calendar of the user. */
  calendarId: string | undefined;
  all: boolean;
  deleteData: boolean;
}

export interface DisconnectReport {
  calendars: { calendarId: string; subscriptionId: string; deletedDocuments: number }[];
  channelsStopped: number;
  /** Channels that could not be stopped (revoked grant...): they expire by themselves. */
  channelsLeft: number;
  credentialsDeleted: boolean;
  calendarListWatchDeleted: boolean;
  /** Accounts with no calendar left: their grant revoked at Google (or why not) and credentials deleted. */
  accounts: { account: string; revoke: RevokeOutcome | 'shared' | 'no_token' }[];
}

const BATCH = 500;
type Target = { subscriptionId: string; doc: SubscriptionDoc };
const keyOf = (accountId: string | null | undefined) => accountId ?? '';

export async function disconnect(deps: CliDeps, input: DisconnectInput): Promise<DisconnectReport> {
  const { db } = deps;
  const targets: Target[] = [];
  if (input.all) {
    const snap = await subscriptionsOfUser(db, input.uid).get();
    for (const d of snap.docs) targets.push({ subscriptionId: d.id, doc: d.data() });
  } else {
    const r = await resolveSubscription(deps, input.uid, input.calendarId ?? '');
    targets.push({ subscriptionId: r.subscriptionId, doc: r.doc });
  }
  const watches = (await calendarListWatchesOfUser(db, input.uid).get()).docs;
  if (targets.length === 0 && watches.length === 0) {
    throw new CliError(`user ${input.uid} has nothing connected`);
  }
  const report: DisconnectReport = {
    calendars: [],
    channelsStopped: 0,
    channelsLeft: 0,
    credentialsDeleted: false,
    calendarListWatchDeleted: false,
    accounts: [],
  };
  const apis = new UserApis(deps);
  const stop = stopper(deps, apis, input.uid, report);

  for (const t of targets) {
    const { doc } = t;
    // Delete first: a worker mid-sync then fails its fenced commit instead of resurrecting it.
    await db.doc(paths.subscription(t.subscriptionId)).delete();
    const account = doc.accountId ?? null;
    await stop(doc.channel, account, t.subscriptionId);
    await stop(doc.previousChannel, account, t.subscriptionId);
    const deleted = await removeMirror(deps, input, doc);
    report.calendars.push({
      calendarId: doc.calendarId,
      subscriptionId: t.subscriptionId,
      deletedDocuments: deleted,
    });
    deps.progress(`disconnected ${doc.calendarId}`);
  }

  const remaining = (await subscriptionsOfUser(db, input.uid).get()).docs.map((d) => d.data());
  const inUse = new Set(remaining.map((s) => keyOf(s.accountId)));
  // Accounts the disconnected calendars used (or, with --all, every account) that nothing uses now.
  const touched = input.all
    ? (await listAccounts(db, input.uid)).map((a) => a.accountId)
    : targets.map((t) => t.doc.accountId ?? null);
  const done = [...new Set(touched.map(keyOf))].filter((k) => !inUse.has(k));

  for (const w of watches) {
    const doc = w.data();
    if (!input.all && !done.includes(keyOf(doc.accountId))) {
      deps.progress(
        'note: this account is connected with --all; the calendar comes back at the next reconcile while it stays in its calendar list (use --all to disconnect everything)',
      );
      continue;
    }
    await dropWatch(deps, stop, w.id, doc);
    report.calendarListWatchDeleted = true;
  }
  for (const key of done) {
    const accountId = key === '' ? null : key;
    const revoke = await retireAccount(deps, input.uid, accountId);
    report.accounts.push({ account: accountId ?? '(legacy)', revoke });
    report.credentialsDeleted = true;
    deps.progress(
      `no calendar left for account ${accountId ?? '(legacy)'} of ${input.uid}: grant ${revoke}, credentials deleted`,
    );
  }
  return report;
}

/** Stops a channel with its account's credentials and records it as retired. */
function stopper(deps: CliDeps, apis: UserApis, uid: string, report: DisconnectReport) {
  return async (
    channel: ChannelRecord | null | undefined,
    accountId: string | null,
    ownerId: string,
  ) => {
    if (!channel || channel.expiration.toMillis() <= deps.now()) return;
    const ref: AccountRef = { uid, accountId };
    const user = await apis.get(ref);
    const outcome: StopOutcome = user.ok
      ? await stopChannelRecord({ api: user.api, logger: deps.logger }, channel)
      : 'failed';
    await recordRetiredChannel(deps.db, channel, ownerId, outcome === 'stopped', deps.now());
    if (outcome === 'stopped') report.channelsStopped++;
    else {
      report.channelsLeft++;
      deps.progress(
        `could not stop channel ${channel.id} (${user.ok ? outcome : user.message}); it expires ${channel.expiration.toDate().toISOString()}`,
      );
    }
  };
}

async function dropWatch(
  deps: CliDeps,
  stop: ReturnType<typeof stopper>,
  watchId: string,
  doc: CalendarListWatchDoc,
): Promise<void> {
  await deps.db.doc(calendarListWatchPath(watchId)).delete();
  await stop(doc.channel, doc.accountId ?? null, watchId);
  await stop(doc.previousChannel, doc.accountId ?? null, watchId);
}

/**
 * The account has no calendar left: revoke its grant at Google (the OAuth revoke endpoint) —
 * unless another calsync user holds the same Google account, whose grant revoking would end
 * too — and delete its credentials.
 */
async function retireAccount(
  deps: CliDeps,
  uid: string,
  accountId: string | null,
): Promise<RevokeOutcome | 'shared' | 'no_token'> {
  const { db, config } = deps;
  let outcome: RevokeOutcome | 'shared' | 'no_token' = 'no_token';
  if (accountId && (await sharedWithAnotherUser(db, uid, accountId))) {
    outcome = 'shared';
  } else {
    const token = await loadRefreshToken(db, config.tokenKeys, { uid, accountId }).catch(
      () => null,
    );
    if (token) outcome = await revokeGrant(config.oauth, token, config.googleTimeoutMs);
  }
  await deleteCredentials(db, uid, accountId);
  return outcome;
}

async function sharedWithAnotherUser(db: Firestore, uid: string, accountId: string) {
  const same = await db
    .collectionGroup(CREDENTIAL_ACCOUNTS)
    .where('accountId', '==', accountId)
    .select('uid')
    .limit(5)
    .get();
  return same.docs.some((d) => d.get('uid') !== uid);
}

/** Deletes the mirror (with --delete-data) or marks the calendar removed; returns documents deleted. */
async function removeMirror(
  deps: CliDeps,
  input: DisconnectInput,
  doc: SubscriptionDoc,
): Promise<number> {
  const { db } = deps;
  if (!input.deleteData) {
    await db
      .doc(paths.calendar(input.uid, doc.calendarId))
      .set({ sync: { status: 'removed' } }, { merge: true });
    return 0;
  }
  const leaseEnds = doc.lease?.expiresAt.toMillis() ?? 0;
  if (leaseEnds > deps.now()) {
    // A sync in flight may still write a page; wait until its lease ends (bounded by leaseMs).
    const wait = Math.min(leaseEnds - deps.now(), deps.config.leaseMs);
    deps.progress(
      `${doc.calendarId}: a sync is running; waiting ${Math.ceil(wait / 1000)}s for it to end`,
    );
    await new Promise((r) => setTimeout(r, wait));
  }
  const deleted = await deleteMirror(db, input.uid, doc.calendarId, (n) =>
    deps.progress(`${doc.calendarId}: ${n} document(s) deleted`),
  );
  await db.doc(paths.calendar(input.uid, doc.calendarId)).delete();
  return deleted;
}

/** Deletes the events and occurrences of a calendar, 500 documents per batch; returns how many. */
export async function deleteMirror(
  db: Firestore,
  uid: string,
  calendarId: string,
  progress: (deletedSoFar: number) => void,
): Promise<number> {
  let total = 0;
  for (const path of [paths.events(uid, calendarId), paths.occurrences(uid, calendarId)]) {
    const col = db.collection(path);
    for (;;) {
      const snap = await col.select().limit(BATCH).get();
      if (snap.empty) break;
      const batch = db.batch();
      for (const d of snap.docs) batch.delete(d.ref);
      await batch.commit();
      total += snap.size;
      progress(total);
      if (snap.size < BATCH) break;
    }
  }
  return total;
}
