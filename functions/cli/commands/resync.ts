// `calsync resync`: enqueue a manual (optionally full) sync of one subscription on the notifications topic.
import { resyncMessage } from '../../renewal/enqueue.js';
import type { CliDeps } from '../deps.js';
import { CliError } from '../errors.js';
import { resolveSubscription } from './resolve.js';

export interface ResyncInput {
  uid: string;
  calendarId: string;
  full: boolean;
}

export async function resync(
  deps: CliDeps,
  input: ResyncInput,
): Promise<{ subscriptionId: string; full: boolean }> {
  const r = await resolveSubscription(deps, input.uid, input.calendarId);
  if (r.doc.status !== 'active' && r.doc.status !== 'error') {
    throw new CliError(
      `subscription ${r.subscriptionId} is ${r.doc.status}: the worker would skip it (run connect again)`,
    );
  }
  await deps.enqueuer.enqueue(resyncMessage(r.subscriptionId, 'manual', deps.now(), input.full));
  deps.progress(`enqueued a ${input.full ? 'full' : 'incremental'} sync of ${r.doc.calendarId}`);
  return { subscriptionId: r.subscriptionId, full: input.full };
}
