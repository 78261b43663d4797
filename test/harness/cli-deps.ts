// calsync's CLI deps for tests and benchmarks, as the CLI builds them but on a clock that may run ahead (the simulator's).
import { randomBytes } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import { calendarApiFactory } from '../../functions/calendar/client.js';
import type { CliDeps } from '../../functions/cli/deps.js';
import type { RenewalConfig } from '../../functions/config.js';
import type { Logger } from '../../functions/log.js';
import type { Enqueuer } from '../../functions/renewal/enqueue.js';

/**
 * Makes CliDeps on demand (`overrides` replace any part): `now()` is real time plus `offset.ms`,
 * and each call gets its own claim holder id `${holderPrefix}:<random>`.
 */
export function clockedCliDeps(
  parts: {
    db: Firestore;
    config: Readonly<RenewalConfig>;
    logger: Logger;
    enqueuer: Enqueuer;
    offset: { ms: number };
  },
  holderPrefix: string,
  progress: (line: string) => void,
): (overrides?: Partial<CliDeps>) => CliDeps {
  const { db, config, logger, enqueuer, offset } = parts;
  return (overrides = {}) => ({
    db,
    config,
    calendarApi: calendarApiFactory(config),
    logger,
    now: () => Date.now() + offset.ms,
    enqueuer,
    progress,
    holder: `${holderPrefix}:${randomBytes(4).toString('hex')}`,
    ...overrides,
  });
}
