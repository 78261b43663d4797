// "Connected calendars": each calendar document's sync state (status, last sync, last error, next retry), live.
import { collection, onSnapshot, type Firestore, type Unsubscribe } from 'firebase/firestore';
import { el, relative, timeOfDay } from './dom.js';
import {
  calendarConverter,
  calendarsPath,
  type CalendarDocument,
} from '../../functions/read-models/web.js';

export interface ConnectedCalendar {
  docId: string;
  data: CalendarDocument;
}

/** One onSnapshot on users/{uid}/calendars with the shared web converter (the rules let the user list their own). */
export function watchCalendars(
  db: Firestore,
  uid: string,
  onCalendars: (calendars: ConnectedCalendar[]) => void,
  onError: (code: string) => void,
): Unsubscribe {
  const ref = collection(db, calendarsPath(uid)).withConverter(calendarConverter);
  return onSnapshot(
    ref,
    (snap) => onCalendars(snap.docs.map((d) => ({ docId: d.id, data: d.data() }))),
    (err) => onError(err.code),
  );
}

function when(ts: { toMillis(): number } | null | undefined, now: number): Node | string {
  if (!ts) return '—';
  const ms = ts.toMillis();
  const node = el('time', { datetime: new Date(ms).toISOString(), 'data-at': String(ms) });
  node.textContent = `${timeOfDay(ms)} (${relative(ms, now)})`;
  return node;
}

/** Keeps "12 s ago" counting without redrawing the rows (assistive technology keeps its place). */
export function refreshTimes(body: HTMLTableSectionElement, now: number): void {
  for (const node of body.querySelectorAll<HTMLTimeElement>('time[data-at]')) {
    const ms = Number(node.dataset.at);
    node.textContent = `${timeOfDay(ms)} (${relative(ms, now)})`;
  }
}

function row(c: ConnectedCalendar, now: number): HTMLTableRowElement {
  const { data } = c;
  const sync = data.sync;
  const error = sync.lastError ? `${sync.lastError.code}: ${sync.lastError.reason}` : '—';
  const events = `${data.counts?.events ?? 0}${data.counts?.tombstones ? ` + ${data.counts.tombstones} cancelled` : ''}`;
  return el(
    'tr',
    { 'data-calendar': data.calendarId },
    el('th', { scope: 'row' }, data.summary ?? data.calendarId),
    el(
      'td',
      {},
      el('span', { class: `status status-${sync.status}` }, sync.status),
      ` ${sync.mode ?? ''}`,
    ),
    el('td', {}, when(sync.lastSyncedAt, now)),
    el('td', {}, error),
    el('td', {}, when(sync.nextRetryAt, now)),
    el('td', { class: 'num' }, events),
  );
}

/** Replaces the table body with one row per calendar. */
export function renderCalendars(
  body: HTMLTableSectionElement,
  calendars: ConnectedCalendar[],
  now: number,
): void {
  if (calendars.length === 0) {
    body.replaceChildren(el('tr', {}, el('td', { colspan: '6' }, 'No calendar connected yet.')));
    return;
  }
  body.replaceChildren(...calendars.map((c) => row(c, now)));
}
