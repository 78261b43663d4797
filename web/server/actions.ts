// The page's buttons: changes to the demo calendar made through the Calendar API (the simulator's Google endpoints), as its owner would make them.
import type { calendar_v3 } from '@googleapis/calendar';
import type { ActionItem, ActionName } from '../page/shared.js';
import { dayOf } from '../page/zone.js';

export interface DemoCalendar {
  /** A Calendar API client acting as the demo user. */
  calendar: calendar_v3.Calendar;
  calendarId: string;
  /** The calendar's zone: new events are placed at whole hours there. */
  timeZone: string;
  /** The recurring series whose next instance "cancel one instance" cancels. */
  series: { id: string; summary: string };
}

/** A refusal the visitor can act on (answered as 409 with this text). */
export class ActionRefused extends Error {}

const NAMES = [
  'Tea with Ada',
  'Call with Leo',
  'Walk with Sam',
  'Review with Kim',
  'Demo for Noor',
];
const HOUR_MS = 3_600_000;

type Done = Omit<ActionItem, 'kind' | 'at' | 'ms'>;

/** The four changes; "move" and "delete" act on the event this page added last. */
export class DemoActions {
  private added: { id: string; summary: string; hour: number; day: string } | undefined;
  private count = 0;

  constructor(
    private readonly demo: DemoCalendar,
    private readonly now: () => number = Date.now,
  ) {}

  async run(action: ActionName): Promise<Done> {
    switch (action) {
      case 'add':
        return this.add();
      case 'move':
        return this.move();
      case 'cancel-instance':
        return this.cancelInstance();
      case 'delete':
        return this.remove();
    }
  }

  private wall(day: string, hour: number): calendar_v3.Schema$EventDateTime {
    const hh = String(hour).padStart(2, '0');
    return { dateTime: `${day}T${hh}:00:00`, timeZone: this.demo.timeZone };
  }

  private async add(): Promise<Done> {
    const { calendar, calendarId, timeZone } = this.demo;
    const summary = NAMES[this.count % NAMES.length]!;
    const hour = 10 + (this.count % 8);
    this.count += 1;
    const day = dayOf(timeZone, this.now() + 24 * HOUR_MS); // tomorrow, inside the page's week
    const r = await calendar.events.insert({
      calendarId,
      requestBody: { summary, start: this.wall(day, hour), end: this.wall(day, hour + 1) },
    });
    const id = r.data.id ?? '';
    this.added = { id, summary, hour, day };
    return { action: 'add', eventId: id, summary, call: `events.insert, ${day} ${hour}:00` };
  }

  private lastAdded(verb: string): NonNullable<DemoActions['added']> {
    if (!this.added) {
      throw new ActionRefused(`Add an event first: "${verb}" acts on the event this page added.`);
    }
    return this.added;
  }

  private async move(): Promise<Done> {
    const ev = this.lastAdded('move it');
    const hour = ev.hour >= 22 ? 8 : ev.hour + 1;
    await this.demo.calendar.events.patch({
      calendarId: this.demo.calendarId,
      eventId: ev.id,
      requestBody: { start: this.wall(ev.day, hour), end: this.wall(ev.day, hour + 1) },
    });
    this.added = { ...ev, hour };
    return {
      action: 'move',
      eventId: ev.id,
      summary: ev.summary,
      call: `events.patch, ${ev.hour}:00 → ${hour}:00`,
    };
  }

  private async cancelInstance(): Promise<Done> {
    const { calendar, calendarId, series } = this.demo;
    // instances() lists the series' occurrences in order and leaves cancelled ones out.
    const list = await calendar.events.instances({
      calendarId,
      eventId: series.id,
      timeMin: new Date(this.now()).toISOString(),
      maxResults: 1,
    });
    const next = list.data.items?.[0];
    if (!next?.id) throw new ActionRefused(`"${series.summary}" has no upcoming instance left.`);
    await calendar.events.delete({ calendarId, eventId: next.id });
    const when = next.start?.dateTime ?? next.start?.date ?? '';
    return {
      action: 'cancel-instance',
      eventId: next.id,
      summary: series.summary,
      call: `events.delete on one instance (${when.slice(0, 16).replace('T', ' ')})`,
    };
  }

  private async remove(): Promise<Done> {
    const ev = this.lastAdded('delete it');
    await this.demo.calendar.events.delete({ calendarId: this.demo.calendarId, eventId: ev.id });
    this.added = undefined;
    return { action: 'delete', eventId: ev.id, summary: ev.summary, call: 'events.delete' };
  }
}
