// "This week": an onSnapshot per connected calendar on its occurrence view (startAt in the next seven days), drawn as days.
import {
  collection,
  onSnapshot,
  orderBy,
  query,
  Timestamp,
  where,
  type Firestore,
  type Unsubscribe,
} from 'firebase/firestore';
import type { ConnectedCalendar } from './calendars.js';
import { clock, dayTitle, el } from './dom.js';
import {
  occurrenceConverter,
  occurrencesPath,
  type OccurrenceDocument,
} from '../../functions/read-models/web.js';
import { dayOf, daysFrom, nextDay, startOfDay } from './zone.js';

/** A change this page saw arrive from Firestore (after its first snapshot). */
export interface SeenChange {
  type: 'added' | 'modified' | 'removed';
  /** The occurrence document's id: the event id, or `<seriesId>_<originalStart>` for an instance. */
  id: string;
  occurrence: OccurrenceDocument<Timestamp>;
}

interface Shown {
  occurrence: OccurrenceDocument<Timestamp>;
  /** Until when it is highlighted as just changed (ms); removed ones stay struck through until then. */
  freshUntil: number;
  removed: boolean;
}

const HIGHLIGHT_MS = 5000;

export class WeekView {
  private zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  private days: string[] = [];
  private readonly listeners = new Map<string, Unsubscribe>();
  private readonly shown = new Map<string, Shown>();
  private calendars: ConnectedCalendar[] = [];

  constructor(
    private readonly db: Firestore,
    private readonly uid: string,
    private readonly root: HTMLElement,
    private readonly caption: HTMLElement,
    private readonly onChanges: (changes: SeenChange[]) => void,
  ) {}

  /** Follows the connected calendars: one listener each, all over the same seven days. */
  setCalendars(calendars: ConnectedCalendar[], now = Date.now()): void {
    this.calendars = calendars;
    let changed = false;
    const zone = calendars[0]?.data.timeZone ?? this.zone;
    const days = daysFrom(zone, now, 7);
    if (zone !== this.zone || days[0] !== this.days[0]) {
      this.zone = zone;
      this.days = days;
      this.stopAll(); // a new day or zone: new bounds for every query
      changed = true;
    }
    for (const [id, stop] of this.listeners) {
      if (!calendars.some((c) => c.docId === id)) {
        stop();
        this.listeners.delete(id);
        for (const key of this.shown.keys()) if (key.startsWith(`${id}/`)) this.shown.delete(key);
        changed = true;
      }
    }
    for (const c of calendars) {
      if (this.listeners.has(c.docId)) continue;
      this.listen(c.docId, c.data.calendarId);
      changed = true;
    }
    if (changed) this.render();
  }

  /** Once in a while: past midnight the week moves on a day. */
  tick(now = Date.now()): void {
    if (this.calendars.length > 0) this.setCalendars(this.calendars, now);
  }

  private stopAll(): void {
    for (const stop of this.listeners.values()) stop();
    this.listeners.clear();
    this.shown.clear();
  }

  private listen(calendarDocId: string, calendarId: string): void {
    const start = startOfDay(this.zone, this.days[0]!);
    const end = startOfDay(this.zone, nextDay(this.days[this.days.length - 1]!));
    const q = query(
      collection(this.db, occurrencesPath(this.uid, calendarId)),
      where('startAt', '>=', Timestamp.fromMillis(start)),
      where('startAt', '<', Timestamp.fromMillis(end)),
      orderBy('startAt'),
    ).withConverter(occurrenceConverter);
    let first = true;
    const stop = onSnapshot(
      q,
      (snap) => {
        const now = Date.now();
        const seen: SeenChange[] = [];
        for (const change of snap.docChanges()) {
          const key = `${calendarDocId}/${change.doc.id}`;
          const occurrence = change.doc.data();
          const freshUntil = first ? 0 : now + HIGHLIGHT_MS;
          this.shown.set(key, { occurrence, freshUntil, removed: change.type === 'removed' });
          if (change.type === 'removed' && first) this.shown.delete(key);
          seen.push({ type: change.type, id: change.doc.id, occurrence });
        }
        if (!first && seen.length > 0) this.onChanges(seen);
        first = false;
        this.render();
        setTimeout(() => this.render(), HIGHLIGHT_MS + 50); // drop highlights and struck-through ones
      },
      (err) => {
        this.caption.textContent = `Firestore refused to read the occurrences: ${err.code}`;
      },
    );
    this.listeners.set(calendarDocId, stop);
  }

  /** Redraws the seven days from what the listeners hold. */
  render(now = Date.now()): void {
    for (const [key, s] of this.shown) if (s.removed && s.freshUntil <= now) this.shown.delete(key);
    const byDay = new Map<string, Shown[]>(this.days.map((d) => [d, []]));
    for (const s of this.shown.values()) {
      byDay.get(dayOf(this.zone, s.occurrence.startAt.toMillis()))?.push(s);
    }
    const first = this.days[0] ?? '';
    const last = this.days[this.days.length - 1] ?? '';
    const live = [...this.shown.values()].filter((s) => !s.removed).length;
    this.caption.textContent = `${dayTitle(first)} – ${dayTitle(last)}, times in ${this.zone} · ${live} occurrences`;
    this.root.replaceChildren(
      ...this.days.map((day) => this.dayColumn(day, byDay.get(day) ?? [], day === first, now)),
    );
  }

  private dayColumn(day: string, items: Shown[], today: boolean, now: number): HTMLElement {
    items.sort(
      (a, b) =>
        Number(b.occurrence.allDay) - Number(a.occurrence.allDay) ||
        a.occurrence.startAt.toMillis() - b.occurrence.startAt.toMillis(),
    );
    const title = el('h3', { id: `day-${day}` }, today ? `Today, ${dayTitle(day)}` : dayTitle(day));
    const list =
      items.length === 0
        ? el('p', { class: 'muted' }, 'Nothing planned')
        : el('ol', {}, ...items.map((s) => this.item(s, now)));
    const attrs: Record<string, string> = { class: 'day', 'aria-labelledby': `day-${day}` };
    if (today) attrs['aria-current'] = 'date';
    return el('section', attrs, title, list);
  }

  private item(s: Shown, now: number): HTMLLIElement {
    const o = s.occurrence;
    const start = o.startAt.toMillis();
    const classes = ['occ'];
    if (o.allDay) classes.push('all-day');
    if (s.freshUntil > now) classes.push('fresh');
    if (s.removed) classes.push('gone');
    const time = o.allDay ? 'all day' : clock(this.zone, start);
    return el(
      'li',
      { class: classes.join(' '), 'data-event-id': o.eventId },
      el('time', { datetime: new Date(start).toISOString() }, time),
      ' ',
      el('span', { class: 'summary' }, o.summary ?? '(no title)'),
      ...(o.location ? [el('span', { class: 'where' }, ` · ${o.location}`)] : []),
      ...(s.removed ? [el('span', { class: 'visually-hidden' }, ' (removed)')] : []),
    );
  }
}
