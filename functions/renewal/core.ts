// renewChannelsCore: one renewal run — the phases of renewal/phases.ts in order, inside the time budget.
import { LOG_EVENTS } from '../log-events.js';
import { countAfter } from '../store/subscriptions-query.js';
import { PHASES } from './phases.js';
import { RenewalRun, type RenewalDeps, type RenewalSummary } from './run.js';

export type { RenewalDeps, RenewalSummary } from './run.js';

/**
 * One renewal run. Never throws for a single subscription's failure; reports it in `failed`. When
 * the budget runs out mid-phase, the rest of that phase and every phase not started are counted
 * in `remaining` (the next hourly run picks them up).
 */
export async function renewChannelsCore(deps: RenewalDeps): Promise<RenewalSummary> {
  const run = new RenewalRun(deps);
  const now = run.started;
  for (let i = 0; i < PHASES.length; i++) {
    if (await runPhase(run, i, now)) continue;
    // Phases never started: everything they would have looked at remains.
    for (const later of PHASES.slice(i + 1)) {
      let count = 0;
      for (const q of later.queries(run, now)) count += await countAfter(q, undefined);
      if (later.deferrable) run.leftOver(later, count);
      else run.summary.remaining += count;
    }
    break;
  }
  run.summary.durationMs = deps.now() - run.started;
  logStale(deps, run.summary.stale);
  deps.logger.info('renewChannels summary', {
    event: 'renewal_summary',
    summary: { ...run.summary, failed: run.summary.failed.slice(0, 50) },
  });
  return run.summary;
}

/** Every query of one phase, in order; false when the budget ran out. */
async function runPhase(run: RenewalRun, index: number, now: number): Promise<boolean> {
  const phase = PHASES[index]!;
  for (const query of phase.queries(run, now)) {
    const done = phase.handlePage
      ? await run.eachPage(phase, query, (page) => phase.handlePage(run, page, now))
      : await run.each(phase, query, (doc) => phase.handle(run, doc, now));
    if (!done) return false;
  }
  return true;
}

/**
 * One line per run for the stale-calendar alert (infra/monitoring.tf): WARNING when the safety net
 * found calendars not synced within its period. `calsync status --stale` lists them.
 */
function logStale(deps: RenewalDeps, count: number): void {
  const { message } = LOG_EVENTS.staleCalendars;
  const fields = { count, safetyNetMs: deps.config.safetyNetMs };
  if (count > 0) deps.logger.warn(message, fields);
  else deps.logger.info(message, fields);
}
