// Finds the subscription a CLI command names: by (user, calendar id), resolving `primary` through Google when needed.
import { classifyGoogleError } from '../../calendar/errors.js';
import { UserApis } from '../../channels/deps.js';
import { subscriptionIdFor } from '../../ids.js';
import { paths, type SubscriptionDoc } from '../../store/schema.js';
import type { CliDeps } from '../deps.js';
import { CliError } from '../errors.js';

export interface Resolved {
  subscriptionId: string;
  calendarId: string;
  doc: SubscriptionDoc;
}

/** The existing subscription of (uid, calendarId); CliError when there is none. */
export async function resolveSubscription(
  deps: CliDeps,
  uid: string,
  calendarId: string,
): Promise<Resolved> {
  const direct = await read(deps, uid, calendarId);
  if (direct) return direct;
  if (calendarId === 'primary') {
    const user = await new UserApis(deps).get(uid);
    if (user.ok) {
      try {
        const info = await user.api.getCalendar('primary');
        const real = await read(deps, uid, info.id);
        if (real) return real;
      } catch (err) {
        const info = classifyGoogleError(err);
        throw new CliError(
          `could not resolve "primary" for user ${uid}: ${info.kind}: ${info.message}`,
        );
      }
    }
  }
  throw new CliError(`user ${uid} has no subscription for calendar ${calendarId}`);
}

async function read(deps: CliDeps, uid: string, calendarId: string): Promise<Resolved | undefined> {
  const subscriptionId = subscriptionIdFor(uid, calendarId);
  const snap = await deps.db.doc(paths.subscription(subscriptionId)).get();
  if (!snap.exists) return undefined;
  return { subscriptionId, calendarId, doc: snap.data() as SubscriptionDoc };
}
