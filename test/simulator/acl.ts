// acl.list/insert/delete and calendars.patch/update on Google's paths: sharing changes and calendar
// properties, which notify watchers but show up in no events delta.
// References: https://developers.google.com/calendar/api/v3/reference/acl,
// .../v3/reference/calendars/patch and /update; AclRule and Calendar schemas (discovery document).
import type { ApiContext } from './context.js';
import { apiError, errors } from './errors.js';
import type { Reply } from './http.js';
import type { AccessRole, AclRuleState, CalendarState } from './types.js';
import { isValidTimeZone } from './tz.js';

const ROLES: AccessRole[] = ['none', 'freeBusyReader', 'reader', 'writer', 'owner'];

function ruleResource(r: AclRuleState): Record<string, unknown> {
  return { kind: 'calendar#aclRule', etag: r.etag, id: r.id, scope: r.scope, role: r.role };
}

/** With enforceAccessRoles, only an owner changes sharing or calendar properties. */
function requireOwner(ctx: ApiContext, cal: CalendarState): void {
  if (!ctx.settings.realism.enforceAccessRoles) return;
  if (ctx.store.roleOf(ctx.user, cal) !== 'owner') throw apiError(403, 'forbidden');
}

export function listAcl(ctx: ApiContext, cal: CalendarState): Reply {
  if (ctx.settings.realism.enforceAccessRoles) {
    const role = ctx.store.roleOf(ctx.user, cal);
    // "writer … Provides read access to the calendar's ACLs" (AclRule.role in the discovery document).
    if (role !== 'owner' && role !== 'writer') throw apiError(403, 'forbidden');
  }
  return {
    status: 200,
    body: {
      kind: 'calendar#acl',
      etag: cal.etag,
      items: [...cal.acl.values()].map(ruleResource),
    },
  };
}

export function insertAcl(ctx: ApiContext, cal: CalendarState): Reply {
  requireOwner(ctx, cal);
  const role = ctx.body.role;
  const scope = ctx.body.scope as { type?: unknown; value?: unknown } | undefined;
  if (typeof role !== 'string' || !ROLES.includes(role as AccessRole))
    throw errors.invalid('Invalid role.');
  if (!scope || typeof scope !== 'object') throw errors.required('Missing scope.');
  if (
    scope.type !== 'user' &&
    scope.type !== 'group' &&
    scope.type !== 'domain' &&
    scope.type !== 'default'
  )
    throw errors.invalid('Invalid scope type.');
  if (scope.type !== 'default' && (typeof scope.value !== 'string' || scope.value === ''))
    throw errors.required('Missing scope value.');
  const id = scope.type === 'default' ? 'default' : `${scope.type}:${String(scope.value)}`;
  if (id === `user:${cal.owner}`) throw cannotChangeOwnAcl();
  ctx.store.setAcl(
    cal,
    role === 'none'
      ? { id, role: 'none' }
      : {
          id,
          role: role as AclRuleState['role'],
          scope:
            scope.type === 'default'
              ? { type: 'default' }
              : { type: scope.type, value: String(scope.value) },
        },
  );
  const rule = cal.acl.get(id);
  return {
    status: 200,
    body: rule ? ruleResource(rule) : { kind: 'calendar#aclRule', id, role: 'none', scope },
  };
}

export function deleteAcl(ctx: ApiContext, cal: CalendarState, ruleId: string): Reply {
  requireOwner(ctx, cal);
  if (!cal.acl.has(ruleId)) throw errors.notFound();
  if (ruleId === `user:${cal.owner}`) throw cannotChangeOwnAcl();
  ctx.store.setAcl(cal, { id: ruleId, role: 'none' });
  return { status: 204 };
}

function cannotChangeOwnAcl() {
  return apiError(403, 'cannotChangeOwnAcl', 'Cannot change your own access level.');
}

/** calendars.patch (merge) and calendars.update (replace): summary, description, location, timeZone. */
export function writeCalendar(
  ctx: ApiContext,
  cal: CalendarState,
  mode: 'patch' | 'update',
): Reply {
  requireOwner(ctx, cal);
  const b = ctx.body;
  if (mode === 'update' && (typeof b.summary !== 'string' || b.summary === ''))
    throw errors.required('Missing title.');
  for (const k of ['summary', 'description', 'location', 'timeZone'] as const) {
    if (b[k] !== undefined && b[k] !== null && typeof b[k] !== 'string') throw errors.invalid();
  }
  if (typeof b.timeZone === 'string' && !isValidTimeZone(b.timeZone))
    throw errors.invalid('Invalid time zone definition.');
  if (typeof b.summary === 'string') cal.summary = b.summary;
  if (typeof b.description === 'string' || mode === 'update')
    cal.description = typeof b.description === 'string' ? b.description : '';
  if (typeof b.timeZone === 'string') cal.timeZone = b.timeZone;
  ctx.store.calendarPropertiesChanged(cal);
  const body: Record<string, unknown> = {
    kind: 'calendar#calendar',
    etag: cal.etag,
    id: cal.id,
    summary: cal.summary,
    timeZone: cal.timeZone,
    conferenceProperties: { allowedConferenceSolutionTypes: ['hangoutsMeet'] },
  };
  if (cal.description) body.description = cal.description;
  return { status: 200, body };
}
