// The knobs that make the simulator as hard as Google (contract D): defaults keep the simulator's
// original, kind behaviour; `realism: 'google'` turns on the preset below; each knob can also be set
// on its own at start (startSimulator options) and at run time (POST /_sim/realism).

/** A lag in simulated-clock ms: fixed, or drawn per change from [min, max] (seeded). */
export type LagSpec = number | { min: number; max: number };

export interface RealismKnobs {
  /**
   * A change becomes listable (events.list, instances) only this long after the write, while its
   * notification may already have been sent (compass-calendar#1190). Changes of one calendar
   * become visible in write order. events.get reads the latest state. Default 0.
   */
  visibilityLagMs: LagSpec;
  /** Each notification is delivered this long after its change (webhookdb#563). Default 0. */
  notificationDelayMs: LagSpec;
  /** Share of notifications delivered twice (google-api-java-client-services#20532). Default 0. */
  duplicateNotificationRate: number;
  /** Share of changes followed by an extra `exists` that no delta explains. Default 0. */
  noDeltaNotificationRate: number;
  /**
   * Paging runs over live data and sync tokens are time watermarks (recorded tokens decode to a
   * timestamp): an item changed mid-listing moves to a later page (can appear twice or newer),
   * and the next delta repeats what changed since the listing began. Default false (snapshots).
   */
  livePaging: boolean;
  /** Share of non-final list pages forced empty (0..0.9). Default 0. */
  emptyPageRate: number;
  /** Share of non-final list pages cut short (0..1). Default 0. */
  shortPageRate: number;
  /** Share of listings whose last page is empty (the items end one page early). Default 0. */
  emptyLastPageRate: number;
  /** Sync tokens older than this (simulated clock) answer 410. 0 = never. Default 0. */
  syncTokenLifetimeSeconds: number;
  /** acl.insert/acl.delete and share/unshare invalidate the calendar's sync tokens. Default false. */
  aclChangesInvalidateSyncTokens: boolean;
  /**
   * Events as real ones look: cancelled instances without originalStartTime.timeZone (fixture
   * northworld/cancelled_events.json); some events without creator, organizer, reminders or
   * iCalUID. Default false.
   */
  untidyEvents: boolean;
  /**
   * Access roles are enforced: readers and freeBusyReaders cannot write (403 requiredAccessLevel),
   * a freeBusyReader sees busy blocks only, ACL and calendar changes need the owner. Default false.
   */
  enforceAccessRoles: boolean;
  /**
   * showDeleted=false (or showHidden=false on calendarList) with a syncToken is 400 invalid
   * ("it is not allowed to set showDeleted to False", events.list reference). Default false.
   */
  rejectShowDeletedFalseWithSyncToken: boolean;
  /**
   * The per-user rate limit's answer: 'userRateLimitExceeded' (default) or Google's current
   * 'rateLimitExceeded' ("Quota exceeded for quota metric 'Queries' …", PERMISSION_DENIED).
   */
  userRateLimitReason: 'userRateLimitExceeded' | 'rateLimitExceeded';
  /** Requests per minute for the whole project (403 quotaExceeded); 0 = no limit. Default 0. */
  projectRateLimitPerMinute: number;
}

export const KIND: Readonly<RealismKnobs> = {
  visibilityLagMs: 0,
  notificationDelayMs: 0,
  duplicateNotificationRate: 0,
  noDeltaNotificationRate: 0,
  livePaging: false,
  emptyPageRate: 0,
  shortPageRate: 0,
  emptyLastPageRate: 0,
  syncTokenLifetimeSeconds: 0,
  aclChangesInvalidateSyncTokens: false,
  untidyEvents: false,
  enforceAccessRoles: false,
  rejectShowDeletedFalseWithSyncToken: false,
  userRateLimitReason: 'userRateLimitExceeded',
  projectRateLimitPerMinute: 0,
};

/**
 * `realism: 'google'`: moderate values that keep a local demo responsive — lags of at most 1.5 s
 * (visibility) and 1 s (delivery) on the simulated clock, a few percent duplicated and no-delta
 * notifications, live paging with short and empty pages, tokens that live a day.
 */
export const GOOGLE: Readonly<RealismKnobs> = {
  ...KIND,
  visibilityLagMs: { min: 200, max: 1500 },
  notificationDelayMs: { min: 0, max: 1000 },
  duplicateNotificationRate: 0.03,
  noDeltaNotificationRate: 0.03,
  livePaging: true,
  emptyPageRate: 0.1,
  shortPageRate: 0.2,
  emptyLastPageRate: 0.1,
  syncTokenLifetimeSeconds: 24 * 3600,
  aclChangesInvalidateSyncTokens: true,
  untidyEvents: true,
  enforceAccessRoles: true,
  rejectShowDeletedFalseWithSyncToken: true,
};

export type RealismPreset = 'google' | 'off';

const RATES = [
  'duplicateNotificationRate',
  'noDeltaNotificationRate',
  'shortPageRate',
  'emptyLastPageRate',
] as const;
const FLAGS = [
  'livePaging',
  'aclChangesInvalidateSyncTokens',
  'untidyEvents',
  'enforceAccessRoles',
  'rejectShowDeletedFalseWithSyncToken',
] as const;

function lag(name: string, v: unknown): LagSpec {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  if (typeof v === 'object' && v !== null) {
    const { min, max } = v as { min?: unknown; max?: unknown };
    if (typeof min === 'number' && typeof max === 'number' && min >= 0 && max >= min)
      return { min, max };
  }
  throw new Error(`${name} must be a non-negative number or {min, max} with 0 <= min <= max`);
}

/**
 * Apply a preset (optional) and then individual knobs onto `into`; throws on a bad value.
 * Unknown keys are rejected, so a typo never silently leaves Google kind.
 */
export function applyRealism(
  into: RealismKnobs,
  input: Partial<Record<keyof RealismKnobs, unknown>> & { preset?: unknown },
): void {
  const { preset, ...knobs } = input;
  if (preset !== undefined) {
    if (preset !== 'google' && preset !== 'off')
      throw new Error("preset must be 'google' or 'off'");
    Object.assign(into, preset === 'google' ? GOOGLE : KIND);
  }
  for (const [k, v] of Object.entries(knobs)) {
    if (v === undefined) continue;
    const key = k as keyof RealismKnobs;
    if (key === 'visibilityLagMs' || key === 'notificationDelayMs') into[key] = lag(key, v);
    else if ((RATES as readonly string[]).includes(key)) {
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new Error(`${key} must be in [0, 1]`);
      into[key as (typeof RATES)[number]] = v;
    } else if (key === 'emptyPageRate') {
      if (typeof v !== 'number' || !(v >= 0 && v <= 0.9))
        throw new Error('emptyPageRate must be in [0, 0.9]');
      into.emptyPageRate = v;
    } else if ((FLAGS as readonly string[]).includes(key)) {
      if (typeof v !== 'boolean') throw new Error(`${key} must be a boolean`);
      into[key as (typeof FLAGS)[number]] = v;
    } else if (key === 'syncTokenLifetimeSeconds' || key === 'projectRateLimitPerMinute') {
      if (typeof v !== 'number' || !(v >= 0)) throw new Error(`${key} must be a number >= 0`);
      into[key] = v;
    } else if (key === 'userRateLimitReason') {
      if (v !== 'userRateLimitExceeded' && v !== 'rateLimitExceeded')
        throw new Error(
          "userRateLimitReason must be 'userRateLimitExceeded' or 'rateLimitExceeded'",
        );
      into.userRateLimitReason = v;
    } else throw new Error(`unknown realism knob ${k}`);
  }
}

/** The largest value a lag can take. */
export function maxLag(l: LagSpec): number {
  return typeof l === 'number' ? l : l.max;
}

/** A lag drawn from `l` with `u` in [0, 1). */
export function drawLag(l: LagSpec, u: number): number {
  return typeof l === 'number' ? l : l.min + Math.floor(u * (l.max - l.min + 1));
}
