// `calsync disconnect`: stop channels, delete the subscription, optionally the mirrored data (in batches), and the credentials once no calendar remains.
import type { Firestore } from '@google-cloud/firestore';
import { UserApis } from '../../channels/deps.js';
import { stopChannelRecord, type StopOutcome } from '../../channels/lifecycle.js';
import {
  calendarListWatchIdFor,
  calendarListWatchPath,
  type CalendarListWatchDoc,
} from '../../store/calendar-list-watches.js';
import { paths, type ChannelRecord, type SubscriptionDoc } from '../../store/schema.js';
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
}

const BATCH = 500;

export async function disconnect(deps: CliDeps, input: DisconnectInput): Promise<DisconnectReport> {
  const { db } = deps;
  const targets: { subscriptionId: string; doc: SubscriptionDoc }[] = [];
  if (input.all) {
    const snap = await subscriptionsOfUser(db, input.uid).get();
    for (const d of snap.docs) targets.push({ subscriptionId: d.id, doc: d.data() });
  } else {
    const r = await resolveSubscription(deps, input.uid, input.calendarId ?? '');
    targets.push({ subscriptionId: r.subscriptionId, doc: r.doc });
  }
  const watchPath = calendarListWatchPath(calendarListWatchIdFor(input.uid));
  const watchSnap = await db.doc(watchPath).get();
  if (targets.length === 0 && !watchSnap.exists) {
    throw new CliError(`user ${input.uid} has nothing connected`);
  }
  const report: DisconnectReport = {
    calendars: [],
    channelsStopped: 0,
    channelsLeft: 0,
    credentialsDeleted: false,
    calendarListWatchDeleted: false,
  };
  const apis = new UserApis(deps);
  const stop = async (channel: ChannelRecord | null | undefined) => {
    if (!channel || channel.expiration.toMillis() <= deps.now()) return;
    const user = await apis.get(input.uid);
    const outcome: StopOutcome = user.ok
      ? await stopChannelRecord({ api: user.api, logger: deps.logger }, channel)
      : 'failed';
    if (outcome === 'stopped') report.channelsStopped++;
    else {
      report.channelsLeft++;
      deps.progress(
        `could not stop channel ${channel.id} (${user.ok ? outcome : user.message}); it expires ${channel.expiration.toDate().toISOString()}`,
      );
    }
  };

  for (const t of targets) {
    const { doc } = t;
    // Delete first: a worker mid-sync then fails its fenced commit instead of resurrecting it.
    await db.doc(paths.subscription(t.subscriptionId)).delete();
    await stop(doc.channel);
    await stop(doc.previousChannel);
    let deleted = 0;
    if (input.deleteData) {
      const leaseEnds = doc.lease?.expiresAt.toMillis() ?? 0;
      if (leaseEnds > deps.now()) {
        // A sync in flight may still write a page; wait until its lease ends (bounded by leaseMs).
        const wait = Math.min(leaseEnds - deps.now(), deps.config.leaseMs);
        deps.progress(
          `${doc.calendarId}: a sync is running; waiting ${Math.ceil(wait / 1000)}s for it to end`,
        );
        await new Promise((r) => setTimeout(r, wait));
      }
      deleted = await deleteMirror(db, input.uid, doc.calendarId, (n) =>
        deps.progress(`${doc.calendarId}: ${n} document(s) deleted`),
      );
      await db.doc(paths.calendar(input.uid, doc.calendarId)).delete();
    } else {
      await db
        .doc(paths.calendar(input.uid, doc.calendarId))
        .set({ sync: { status: 'removed' } }, { merge: true });
    }
    report.calendars.push({
      calendarId: doc.calendarId,
      subscriptionId: t.subscriptionId,
      deletedDocuments: deleted,
    });
    deps.progress(`disconnected ${doc.calendarId}`);
  }

  const remaining = await subscriptionsOfUser(db, input.uid).limit(1).get();
  if (watchSnap.exists && (input.all || remaining.empty)) {
    const w = watchSnap.data() as CalendarListWatchDoc;
    await db.doc(watchPath).delete();
    await stop(w.channel);
    await stop(w.previousChannel);
    report.calendarListWatchDeleted = true;
  } else if (watchSnap.exists) {
    deps.progress(
      'note: this user is connected with --all; the calendar comes back at the next reconcile while it stays in their calendar list (use --all to disconnect everything)',
    );
  }
  if (remaining.empty) {
    await db.doc(paths.credentials(input.uid)).delete();
    report.credentialsDeleted = true;
    deps.progress(`no calendar left for ${input.uid}: credentials deleted`);
  }
  return report;
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
