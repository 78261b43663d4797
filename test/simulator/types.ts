// Resource shapes the simulator stores and serves (property names as in the v3 discovery document).

export interface EventDateTime {
  date?: string;
  dateTime?: string;
  timeZone?: string;
}

/**
 * A Calendar Event resource. Only fields the simulator interprets are typed; anything else a
 * client sends (attendees, extendedProperties, ...) is kept as opaque JSON.
 */
export interface EventResource {
  kind?: 'calendar#event';
  etag?: string;
  id?: string;
  status?: string;
  htmlLink?: string;
  created?: string;
  updated?: string;
  summary?: string;
  description?: string;
  location?: string;
  creator?: { email?: string; self?: boolean };
  organizer?: { email?: string; self?: boolean };
  start?: EventDateTime;
  end?: EventDateTime;
  recurrence?: string[];
  recurringEventId?: string;
  originalStartTime?: EventDateTime;
  iCalUID?: string;
  sequence?: number;
  reminders?: unknown;
  eventType?: string;
  attendees?: unknown[];
  extendedProperties?: { private?: Record<string, string>; shared?: Record<string, string> };
  [key: string]: unknown;
}

export interface StoredEvent {
  resource: EventResource;
  /** Per-calendar change sequence of the last write that touched this event (once listable). */
  changeSeq: number;
  /**
   * Deleted: gone for good; listed (incremental / showDeleted) as an id-only cancelled item.
   * A cancelled exception of a live series is NOT deleted: its resource.status is 'cancelled'.
   */
  deleted: boolean;
  /** Present while a change of this event is not yet listable (visibility lag, store.ts). */
  shadow?: { visible: EventSnapshot | null; pending: EventSnapshot[] };
}

/** An event as listings show it at some point in time. */
export interface EventSnapshot {
  resource: EventResource;
  deleted: boolean;
  changeSeq: number;
}

/** One write operation whose changes become listable together at `visibleAt`. */
export interface PendingChange {
  visibleAt: number;
  entries: { ev: StoredEvent; bump: boolean }[];
}

export interface CalendarState {
  id: string;
  summary: string;
  description: string;
  timeZone: string;
  owner: string;
  resourceId: string;
  pushUnsupported: boolean;
  deleted: boolean;
  events: Map<string, StoredEvent>;
  seq: number;
  /** Bumped by expire-sync-tokens: every older sync token answers 410. */
  epoch: number;
  etag: string;
  updatedMs: number;
  /** Changes written but not yet listable, oldest first (visibility lag). */
  pendingChanges: PendingChange[];
  /** When the newest pending change becomes listable (changes become listable in order). */
  lastVisibleAt: number;
  /** Events the operation in progress touched, with whether it bumps their change sequence. */
  op: Map<StoredEvent, boolean>;
  /** Counts operations, for seeded per-change lags. */
  opCount: number;
  /** Access control rules by id (`user:<email>`, `default`). */
  acl: Map<string, AclRuleState>;
}

export type AccessRole = 'none' | 'freeBusyReader' | 'reader' | 'writer' | 'owner';

export interface AclRuleState {
  id: string;
  role: AccessRole;
  scope: { type: 'user' | 'group' | 'domain' | 'default'; value?: string };
  etag: string;
}

export interface CalendarListEntryState {
  calendarId: string;
  accessRole: 'owner' | 'writer' | 'reader' | 'freeBusyReader';
  primary: boolean;
  deleted: boolean;
  changeSeq: number;
  etag: string;
  colorId: string;
  hidden: boolean;
}

/** How a refresh grant fails at POST /token (bodies in oauth.ts). */
export type InvalidGrantVariant = 'revoked' | 'bad_request' | 'invalid_rapt';

/** One OAuth grant: a refresh token a user gave an app, with the scopes they really granted. */
export interface GrantState {
  refreshToken: string;
  email: string;
  /** Granted scopes as Google writes them in the token response (`email` -> userinfo.email). */
  scopes: string[];
  /** Every API call is checked against `scopes` (false: only reported, see oauth.ts). */
  enforceScopes: boolean;
  issuedAt: number;
  /** Simulated-clock ms after which the refresh token is dead (apps in "testing" status: 7 days). */
  expiresAt?: number;
  /** Set once revoked or forced to fail: every later refresh answers this invalid_grant variant. */
  failure?: InvalidGrantVariant;
}

export interface UserState {
  email: string;
  /** Google's stable account id (`sub` in id_token, tokeninfo, userinfo), distinct from the email. */
  sub: string;
  grants: Map<string, GrantState>;
  calendarList: Map<string, CalendarListEntryState>;
  listSeq: number;
  listEpoch: number;
  listResourceId: string;
}
