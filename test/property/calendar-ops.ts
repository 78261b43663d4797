// Calendar edits of a history, made through Google's own endpoints (the simulator), and what the history knows about each calendar to pick targets.
import type { calendar_v3 } from '@googleapis/calendar';
import type { SimulatorClient } from '../simulator/client.js';
import { formatDate, wallAt } from '../simulator/tz.js';
import { ZONES, type CalendarOp, type PermanentKind } from './history.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** One calendar of the history's user. */
export interface HistoryCalendar {
  id: string;
  zone: string;
  /** Set once connect subscribed it. */
  subscriptionId?: string;
  singles: string[];
  allDay: string[];
  series: string[];
  /** Masters whose dates are all-day. */
  allDaySeries: Set<string>;
  deleted: string[];
  /** Events stored trimmed or as stubs by a correct calsync (their documents would exceed 1 MiB). */
  oversized: Set<string>;
  /** Really deleted at Google (not_exists, 404). */
  gone: boolean;
  /** A permanent error Google answers for this calendar right now. */
  permanent?: { kind: PermanentKind; lift: 'later' | 'never' };
}

/**
 * A description long enough that the event's document (the event as Google sends it, plus
 * calsync's fields) exceeds Firestore's 1 MiB entity limit, while the insert request itself stays
 * under the simulator's 1 MiB body limit.
 */
export const OVERSIZE_DESCRIPTION = 1_048_576 - 600;

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const basic = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
const dateOf = (ms: number) => formatDate(wallAt(ms, 'UTC'));

export class CalendarOps {
  private counter = 0;

  constructor(
    private readonly cal: calendar_v3.Calendar,
    private readonly simc: SimulatorClient,
    readonly calendars: HistoryCalendar[],
    /** Midnight UTC of the history's first day (world clock): events sit around it. */
    private readonly base: number,
  ) {}

  /** The calendar an op addresses, or undefined when it is gone. */
  target(index: number): HistoryCalendar | undefined {
    // -1: a caller's findIndex found no calendar (soak seed 7142: every calendar gone or refused).
    const c = index < 0 ? undefined : this.calendars[index % this.calendars.length];
    return c && !c.gone ? c : undefined;
  }

  private pick<T>(list: readonly T[], i: number): T | undefined {
    return list.length === 0 ? undefined : list[i % list.length];
  }

  private async instances(c: HistoryCalendar, masterId: string) {
    const { data } = await this.cal.events.instances({
      calendarId: c.id,
      eventId: masterId,
      maxResults: 50,
    });
    return data.items ?? [];
  }

  /** Applies one operation; false when it had no target (e.g. no series yet). */
  async apply(op: CalendarOp): Promise<boolean> {
    const c = this.target(op.cal);
    if (!c) return false;
    const calendarId = c.id;
    const n = ++this.counter;
    const events = this.cal.events;
    switch (op.op) {
      case 'insert': {
        const start = this.base + op.day * DAY + op.hour * HOUR;
        const { data } = await events.insert({
          calendarId,
          requestBody: {
            summary: `single ${n}`,
            start: { dateTime: iso(start) },
            end: { dateTime: iso(start + HOUR / 2) },
          },
        });
        c.singles.push(data.id!);
        return true;
      }
      case 'insertAllDay': {
        const start = this.base + op.day * DAY;
        const { data } = await events.insert({
          calendarId,
          requestBody: {
            summary: `all-day ${n}`,
            start: { date: dateOf(start) },
            end: { date: dateOf(start + op.days * DAY) },
          },
        });
        c.allDay.push(data.id!);
        return true;
      }
      case 'oversize': {
        const start = this.base + op.day * DAY + 12 * HOUR;
        const { data } = await events.insert({
          calendarId,
          requestBody: {
            summary: `oversize ${n}`,
            description: 'x'.repeat(OVERSIZE_DESCRIPTION),
            start: { dateTime: iso(start) },
            end: { dateTime: iso(start + HOUR) },
          },
        });
        c.singles.push(data.id!);
        c.oversized.add(data.id!);
        return true;
      }
      case 'update': {
        const id = this.pick([...c.singles, ...c.allDay, ...c.series], op.pick);
        if (!id) return false;
        await events.patch({
          calendarId,
          eventId: id,
          requestBody: { summary: `updated ${n}`, location: `room ${n % 7}` },
        });
        return true;
      }
      case 'move': {
        const id = this.pick(c.singles, op.pick);
        if (!id) return false;
        const { data } = await events.get({ calendarId, eventId: id });
        const start = Date.parse(data.start!.dateTime!) + op.hours * HOUR;
        const length = Date.parse(data.end!.dateTime!) - Date.parse(data.start!.dateTime!);
        await events.patch({
          calendarId,
          eventId: id,
          requestBody: { start: { dateTime: iso(start) }, end: { dateTime: iso(start + length) } },
        });
        return true;
      }
      case 'delete': {
        const list = [...c.singles, ...c.allDay];
        const id = this.pick(list, op.pick);
        if (!id) return false;
        await events.delete({ calendarId, eventId: id });
        for (const l of [c.singles, c.allDay]) if (l.includes(id)) l.splice(l.indexOf(id), 1);
        c.oversized.delete(id);
        c.deleted.push(id);
        return true;
      }
      case 'restore': {
        // Re-inserting a deleted id is a 409 at Google; bringing it back is an update to "confirmed".
        const id = this.pick(c.deleted, op.pick);
        if (!id) return false;
        const { data } = await events.patch({
          calendarId,
          eventId: id,
          requestBody: { status: 'confirmed', summary: `restored ${n}` },
        });
        c.deleted.splice(c.deleted.indexOf(id), 1);
        (data.start?.date ? c.allDay : c.singles).push(id);
        if ((data.description?.length ?? 0) >= OVERSIZE_DESCRIPTION) c.oversized.add(id);
        return true;
      }
      case 'createSeries':
        return this.createSeries(c, op, n);
      case 'editInstance':
      case 'cancelInstance': {
        const master = this.pick(c.series, op.pick);
        if (!master) return false;
        const inst = this.pick(await this.instances(c, master), op.instance);
        if (!inst) return false;
        if (op.op === 'cancelInstance') {
          await events.delete({ calendarId, eventId: inst.id! });
        } else {
          await events.patch({
            calendarId,
            eventId: inst.id!,
            requestBody: { summary: `instance edit ${n}` },
          });
        }
        return true;
      }
      case 'thisAndFollowing':
        return this.thisAndFollowing(c, op.pick, op.instance, n);
      case 'editSeries': {
        const master = this.pick(c.series, op.pick);
        if (!master) return false;
        const { data } = await events.get({ calendarId, eventId: master });
        // Moving the whole series re-sends every exception (Google re-times them).
        const body = c.allDaySeries.has(master)
          ? {
              start: { date: dateOf(Date.parse(data.start!.date!) + DAY) },
              end: { date: dateOf(Date.parse(data.end!.date!) + DAY) },
            }
          : {
              start: { dateTime: iso(Date.parse(data.start!.dateTime!) + HOUR), timeZone: c.zone },
              end: { dateTime: iso(Date.parse(data.end!.dateTime!) + HOUR), timeZone: c.zone },
            };
        await events.patch({ calendarId, eventId: master, requestBody: body });
        return true;
      }
      case 'deleteSeries': {
        const master = this.pick(c.series, op.pick);
        if (!master) return false;
        await events.delete({ calendarId, eventId: master });
        c.series.splice(c.series.indexOf(master), 1);
        return true;
      }
      case 'deleteCalendar': {
        // Only secondary calendars can be deleted; the primary one lives as long as the account.
        if (c === this.calendars[0]) return false;
        await this.simc.deleteCalendar(calendarId);
        c.gone = true;
        c.permanent = undefined;
        return true;
      }
      case 'setTimeZone': {
        const zone = ZONES[op.zone % ZONES.length]!;
        if (zone === c.zone) return false;
        await this.cal.calendars.patch({ calendarId, requestBody: { timeZone: zone } });
        c.zone = zone;
        return true;
      }
    }
  }

  private async createSeries(
    c: HistoryCalendar,
    op: Extract<CalendarOp, { op: 'createSeries' }>,
    n: number,
  ): Promise<boolean> {
    const day = this.base + op.day * DAY;
    const rule = [`RRULE:FREQ=DAILY;COUNT=${op.count}`];
    const requestBody: calendar_v3.Schema$Event = op.allDay
      ? {
          summary: `all-day series ${n}`,
          recurrence: rule,
          start: { date: dateOf(day) },
          end: { date: dateOf(day + DAY) },
        }
      : {
          // Wall-clock 09:00 in the calendar's zone: the expansion must follow its DST rules.
          summary: `series ${n}`,
          recurrence: rule,
          start: { dateTime: `${dateOf(day)}T09:00:00`, timeZone: c.zone },
          end: { dateTime: `${dateOf(day)}T10:00:00`, timeZone: c.zone },
        };
    const { data } = await this.cal.events.insert({ calendarId: c.id, requestBody });
    c.series.push(data.id!);
    if (op.allDay) c.allDaySeries.add(data.id!);
    return true;
  }

  private async thisAndFollowing(
    c: HistoryCalendar,
    pick: number,
    instance: number,
    n: number,
  ): Promise<boolean> {
    const master = this.pick(c.series, pick);
    if (!master) return false;
    const list = await this.instances(c, master);
    if (list.length < 2) return false;
    const k = 1 + (instance % (list.length - 1));
    const original = list[k]!.originalStartTime!;
    const allDay = c.allDaySeries.has(master);
    const from = Date.parse(original.dateTime ?? original.date!);
    await this.cal.events.patch({
      calendarId: c.id,
      eventId: master,
      requestBody: {
        recurrence: [
          allDay
            ? `RRULE:FREQ=DAILY;UNTIL=${dateOf(from - DAY).replaceAll('-', '')}`
            : `RRULE:FREQ=DAILY;UNTIL=${basic(from - 60_000)}`,
        ],
      },
    });
    const rule = [`RRULE:FREQ=DAILY;COUNT=${list.length - k}`];
    const { data } = await this.cal.events.insert({
      calendarId: c.id,
      requestBody: allDay
        ? {
            summary: `following ${n}`,
            recurrence: rule,
            start: { date: dateOf(from) },
            end: { date: dateOf(from + DAY) },
          }
        : {
            summary: `following ${n}`,
            recurrence: rule,
            start: { dateTime: iso(from), timeZone: c.zone },
            end: { dateTime: iso(from + HOUR), timeZone: c.zone },
          },
    });
    c.series.push(data.id!);
    if (allDay) c.allDaySeries.add(data.id!);
    return true;
  }
}
