// In-memory state: users, their calendarList, calendars and events, change sequences and etags.
import { errors } from './errors.js';
import type { SimClock } from './clock.js';
import type { SimRandom } from './random.js';
import { drawLag, KIND, maxLag, type RealismKnobs } from './realism.js';
import { unitFor } from './random.js';
import type {
  AclRuleState,
  CalendarListEntryState,
  CalendarState,
  EventSnapshot,
  StoredEvent,
  UserState,
} from './types.js';

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
      pendingChanges: [],
      lastVisibleAt: 0,
      op: new Map(),
      opCount: 0,
      acl: new Map(),
    };
    const ownerRule = `user:${owner}`;
    cal.acl.set(ownerRule, {
      id: ownerRule,
      role: 'owner',
      scope: { type: 'user', value: owner },
      etag: this.nextEtag(),
    });
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

  /**
   * An ACL change (acl.insert/update/delete, or sharing in Google's UI): the rule, the user's
   * calendarList, and — the sync guide names "changes in related ACLs" as a reason Google
   * invalidates sync tokens — the calendar's sync tokens when aclChangesInvalidateSyncTokens.
   * Watchers get an `exists` notification that no events delta explains.
   */
  setAcl(
    cal: CalendarState,
    rule: Omit<AclRuleState, 'etag'> | { id: string; role: 'none' },
  ): void {
    if (rule.role === 'none') cal.acl.delete(rule.id);
    else cal.acl.set(rule.id, { ...(rule as Omit<AclRuleState, 'etag'>), etag: this.nextEtag() });
    const email = rule.id.startsWith('user:') ? rule.id.slice(5) : undefined;
    const user = email === undefined ? undefined : this.users.get(email);
    if (user && email !== cal.owner) {
      if (rule.role === 'none') this.removeFromList(user, cal.id);
      else {
        const entry = user.calendarList.get(cal.id);
        if (entry && !entry.deleted && entry.accessRole !== rule.role) {
          entry.accessRole = rule.role;
          entry.changeSeq = ++user.listSeq;
          entry.etag = this.nextEtag();
          this.listeners.calendarListChanged(user);
        } else if (!entry || entry.deleted) this.addToList(user, cal, rule.role);
      }
    }
    if (this.realism.aclChangesInvalidateSyncTokens) cal.epoch++;
    this.listeners.eventsChanged(cal);
  }

  /** The caller's role on a calendar (its calendarList entry). */
  roleOf(user: UserState, cal: CalendarState): CalendarListEntryState['accessRole'] {
    return user.calendarList.get(cal.id)?.accessRole ?? 'owner';
  }

  /**
   * calendars.patch/update changed the calendar's properties: every watcher is notified, but
   * neither the events delta nor the calendarList delta shows it ("If only read-only fields such
   * as calendar properties or ACLs have changed, the entry won't be returned" — calendarList.list
   * reference, syncToken).
   */
  calendarPropertiesChanged(cal: CalendarState): void {
    cal.etag = this.nextEtag();
    this.listeners.eventsChanged(cal);
    for (const user of this.users.values()) {
      const entry = user.calendarList.get(cal.id);
      if (entry && !entry.deleted) this.listeners.calendarListChanged(user);
    }
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

  /**
   * Changes become listable only after the visibility lag (realism.visibilityLagMs): while a
   * calendar has a lag or changes still pending, writes are recorded as snapshots that listings
   * see once their time has come (visibleView). Otherwise writes are listable at once.
   */
  private lagging(cal: CalendarState): boolean {
    return maxLag(this.realism.visibilityLagMs) > 0 || cal.pendingChanges.length > 0;
  }

  /**
   * Call before mutating an existing event in place: under a visibility lag it keeps the state
   * listings still see. (touch() calls it too, for events it is the first to change.)
   */
  beginWrite(cal: CalendarState, ev: StoredEvent): void {
    if (!this.lagging(cal)) return;
    if (!cal.op.has(ev)) cal.op.set(ev, false);
    ev.shadow ??= { visible: ev.changeSeq === 0 ? null : snapshot(ev), pending: [] };
  }

  /** Record a write to an event: new change sequence (now or once listable), `updated`, etag. */
  touch(cal: CalendarState, ev: StoredEvent, bumpSeq = true): void {
    const now = this.clock.now();
    if (this.lagging(cal)) {
      this.beginWrite(cal, ev);
      if (bumpSeq) cal.op.set(ev, true);
    } else if (bumpSeq) ev.changeSeq = ++cal.seq;
    ev.resource.updated = this.clock.iso(now);
    ev.resource.etag = this.nextEtag();
    cal.updatedMs = now;
    cal.etag = ev.resource.etag;
  }

  /** While set, changed() neither ends the operation nor notifies (bulk seeding). */
  batching = false;

  /** End of one API operation on a calendar's events: schedule its changes, then notify. */
  changed(cal: CalendarState): void {
    if (this.batching) return;
    this.endOperation(cal);
    this.listeners.eventsChanged(cal);
  }

  private endOperation(cal: CalendarState): void {
    if (cal.op.size === 0) return;
    const lag = drawLag(
      this.realism.visibilityLagMs,
      unitFor(`visibility|${cal.id}|${cal.opCount++}`, this.random.seed),
    );
    const visibleAt = Math.max(this.clock.now() + lag, cal.lastVisibleAt);
    cal.lastVisibleAt = visibleAt;
    const entries = [...cal.op].map(([ev, bump]) => {
      ev.shadow!.pending.push(snapshot(ev));
      return { ev, bump };
    });
    cal.op.clear();
    cal.pendingChanges.push({ visibleAt, entries });
    this.publish(cal);
  }

  /** Make every pending change whose time has come listable, in write order. */
  private publish(cal: CalendarState): void {
    const now = this.clock.now();
    while (cal.pendingChanges.length > 0 && cal.pendingChanges[0]!.visibleAt <= now) {
      const change = cal.pendingChanges.shift()!;
      for (const { ev, bump } of change.entries) {
        const sh = ev.shadow!;
        const next = sh.pending.shift()!;
        next.changeSeq = bump ? ++cal.seq : (sh.visible?.changeSeq ?? ev.changeSeq);
        sh.visible = next;
        if (sh.pending.length === 0) {
          ev.changeSeq = next.changeSeq;
          ev.shadow = undefined;
        }
      }
    }
  }

  /** The calendar as listings see it now (events with a pending change in their listable state). */
  visibleView(cal: CalendarState): CalendarState {
    this.publish(cal);
    if (cal.pendingChanges.length === 0) return cal;
    const events = new Map<string, StoredEvent>();
    for (const [id, ev] of cal.events) {
      if (!ev.shadow) events.set(id, ev);
      else if (ev.shadow.visible) events.set(id, { ...ev.shadow.visible });
    }
    return { ...cal, events };
  }

  /** When the next pending change of `cal` becomes listable (undefined: none pending). */
  nextVisibleAt(cal: CalendarState): number | undefined {
    return cal.pendingChanges[0]?.visibleAt;
  }
}

function snapshot(ev: StoredEvent): EventSnapshot {
  return { resource: structuredClone(ev.resource), deleted: ev.deleted, changeSeq: ev.changeSeq };
}
