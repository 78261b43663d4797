// In-memory state: users, their calendarList, calendars and events, change sequences and etags.
import { errors } from './errors.js';
import type { SimClock } from './clock.js';
import type { SimRandom } from './random.js';
import { KIND, type RealismKnobs } from './realism.js';
import type { CalendarListEntryState, CalendarState, StoredEvent, UserState } from './types.js';

export interface StoreListeners {
  /** A calendar's events changed (one call per API operation, however many events it touched). */
  eventsChanged(cal: CalendarState): void;
  /** A user's calendarList changed. */
  calendarListChanged(user: UserState): void;
  /** The calendar itself is gone (deleted): watchers get `not_exists`. */
  calendarGone(cal: CalendarState): void;
}

export class Store {
  readonly users = new Map<string, UserState>();
  readonly calendars = new Map<string, CalendarState>();
  private etagCounter = 0;
  listeners: StoreListeners = {
    eventsChanged: () => undefined,
    calendarListChanged: () => undefined,
    calendarGone: () => undefined,
  };

  constructor(
    readonly clock: SimClock,
    readonly random: SimRandom,
    readonly realism: RealismKnobs = { ...KIND },
  ) {}

  /** A quoted decimal string, strictly increasing, like Google's `"3485464646392798"`. */
  nextEtag(): string {
    this.etagCounter = Math.max(this.etagCounter + 1, this.clock.now() * 1000);
    return `"${this.etagCounter}"`;
  }

  /** A user (Google account) with a primary calendar whose id is the email; existing ones are kept. */
  createUser(email: string, sub: string): UserState {
    const existing = this.users.get(email);
    if (existing) return existing;
    for (const u of this.users.values())
      if (u.sub === sub) throw new Error(`sub ${sub} already belongs to ${u.email}`);
    const user: UserState = {
      email,
      sub,
      grants: new Map(),
      calendarList: new Map(),
      listSeq: 0,
      listEpoch: 0,
      listResourceId: this.random.token(27),
    };
    this.users.set(email, user);
    this.createCalendar(email, { id: email, summary: email, primary: true });
    return user;
  }

  createCalendar(
    owner: string,
    opts: {
      id?: string;
      summary?: string;
      timeZone?: string;
      primary?: boolean;
      description?: string;
    },
  ): CalendarState {
    const user = this.users.get(owner);
    if (!user) throw new Error(`unknown user ${owner}`);
    const id = opts.id ?? `${this.random.eventId()}@group.calendar.google.com`;
    if (this.calendars.has(id) && !this.calendars.get(id)!.deleted) {
      throw new Error(`calendar ${id} exists`);
    }
    const cal: CalendarState = {
      id,
      summary: opts.summary ?? id,
      description: opts.description ?? '',
      timeZone: opts.timeZone ?? 'UTC',
      owner,
      resourceId: this.random.token(27),
      pushUnsupported: false,
      deleted: false,
      events: new Map(),
      seq: 0,
      epoch: 0,
      etag: this.nextEtag(),
      updatedMs: this.clock.now(),
    };
    this.calendars.set(id, cal);
    this.addToList(user, cal, 'owner', !!opts.primary);
    return cal;
  }

  addToList(
    user: UserState,
    cal: CalendarState,
    role: CalendarListEntryState['accessRole'],
    primary = false,
  ): void {
    const entry: CalendarListEntryState = {
      calendarId: cal.id,
      accessRole: role,
      primary,
      deleted: false,
      changeSeq: ++user.listSeq,
      etag: this.nextEtag(),
      colorId: String(1 + (user.calendarList.size % 24)),
      hidden: false,
    };
    user.calendarList.set(cal.id, entry);
    this.listeners.calendarListChanged(user);
  }

  removeFromList(user: UserState, calendarId: string): boolean {
    const entry = user.calendarList.get(calendarId);
    if (!entry || entry.deleted) return false;
    entry.deleted = true;
    entry.changeSeq = ++user.listSeq;
    entry.etag = this.nextEtag();
    this.listeners.calendarListChanged(user);
    return true;
  }

  deleteCalendar(calendarId: string): void {
    const cal = this.calendars.get(calendarId);
    if (!cal || cal.deleted) throw new Error(`unknown calendar ${calendarId}`);
    cal.deleted = true;
    for (const user of this.users.values()) this.removeFromList(user, calendarId);
    this.listeners.calendarGone(cal);
  }

  user(email: string): UserState {
    const u = this.users.get(email);
    if (!u) throw new Error(`unknown user ${email}`);
    return u;
  }

  /** The calendar a user addresses as `calendarId` ('primary' = their own); 404 if not theirs. */
  calendarFor(user: UserState, calendarId: string): CalendarState {
    const id = calendarId === 'primary' ? user.email : calendarId;
    const entry = user.calendarList.get(id);
    const cal = this.calendars.get(id);
    if (!entry || entry.deleted || !cal || cal.deleted) throw errors.notFound();
    return cal;
  }

  /** Record a write to an event: new change sequence, `updated`, etag. */
  touch(cal: CalendarState, ev: StoredEvent, bumpSeq = true): void {
    const now = this.clock.now();
    if (bumpSeq) ev.changeSeq = ++cal.seq;
    ev.resource.updated = this.clock.iso(now);
    ev.resource.etag = this.nextEtag();
    cal.updatedMs = now;
    cal.etag = ev.resource.etag;
  }
}
