// The live page of `npm start`: signs in to the Firestore emulator as the demo user and shows the mirror as a client app sees it.
import { initializeApp } from 'firebase/app';
import {
  collection,
  connectFirestoreEmulator,
  doc,
  getDoc,
  getDocs,
  getFirestore,
  type Firestore,
} from 'firebase/firestore';
import { wireButtons } from './buttons.js';
import { refreshTimes, renderCalendars, watchCalendars } from './calendars.js';
import { byId, clock } from './dom.js';
import type { ActionItem, PageConfig, PageHandle, ReadAttempt } from './shared.js';
import { FeedView } from './feed-view.js';
import { WeekView, type SeenChange } from './week.js';

declare global {
  interface Window {
    calsync: PageHandle;
  }
}

function tryRead(db: Firestore, path: string): Promise<ReadAttempt> {
  const segments = path.split('/').filter(Boolean);
  const read =
    segments.length % 2 === 0
      ? getDoc(doc(db, path)).then((s) => ({ ok: true, documents: s.exists() ? 1 : 0 }))
      : getDocs(collection(db, path)).then((s) => ({ ok: true, documents: s.size }));
  return read.catch((err: { code?: string }) => ({ ok: false, code: err.code ?? String(err) }));
}

async function main(): Promise<void> {
  const config = (await (await fetch('/config.json')).json()) as PageConfig;
  byId('uid').textContent = config.uid;
  const app = initializeApp({ projectId: config.projectId, apiKey: 'calsync-local-demo' });
  const db = getFirestore(app);
  // The emulator takes an unsigned ID token: `request.auth.uid` is this uid in the rules.
  connectFirestoreEmulator(db, config.firestoreHost, config.firestorePort, {
    mockUserToken: { user_id: config.uid },
  });
  window.calsync = { uid: config.uid, tryRead: (path) => tryRead(db, path) };

  const feed = new FeedView(byId<HTMLOListElement>('feed'));
  feed.connect('/feed');
  const pending = new Map<string, { item: ActionItem; pressedAt: number }>();
  const status = byId('action-status');
  const week = new WeekView(db, config.uid, byId('week'), byId('week-range'), (changes) =>
    reportChanges(changes, feed, pending, status),
  );
  const table = byId<HTMLTableElement>('calendars').tBodies[0]!;
  watchCalendars(
    db,
    config.uid,
    (cals) => {
      renderCalendars(table, cals, Date.now());
      week.setCalendars(cals);
    },
    (code) => (byId('week-range').textContent = `Firestore refused to list the calendars: ${code}`),
  );
  setInterval(() => {
    refreshTimes(table, Date.now());
    week.tick();
  }, 1000);
  wireButtons(document.body, status, (item, pressedAt) =>
    pending.set(item.eventId, { item, pressedAt }),
  );
}

/** One feed line per snapshot; a change the visitor asked for also says how long it took. */
function reportChanges(
  changes: SeenChange[],
  feed: FeedView,
  pending: Map<string, { item: ActionItem; pressedAt: number }>,
  status: HTMLElement,
): void {
  const words = changes.slice(0, 3).map((c) => {
    const o = c.occurrence;
    const when = o.allDay ? 'all day' : clock(o.timeZone ?? 'UTC', o.startAt.toMillis());
    return `${c.type} “${o.summary ?? '(no title)'}” ${when}`;
  });
  const more = changes.length > 3 ? ` and ${changes.length - 3} more` : '';
  feed.add({
    kind: 'seen',
    at: Date.now(),
    text: `onSnapshot: ${words.join(', ')}${more}`,
  });
  for (const c of changes) {
    const asked = pending.get(c.id);
    if (!asked) continue;
    pending.delete(c.id);
    const seconds = ((performance.now() - asked.pressedAt) / 1000).toFixed(1);
    const text = `“${asked.item.summary}” reached this page ${seconds} s after the click`;
    feed.add({ kind: 'seen', at: Date.now(), text });
    status.textContent = text;
  }
}

main().catch((err: unknown) => {
  byId('week-range').textContent = `The page could not start: ${String(err)}`;
});
