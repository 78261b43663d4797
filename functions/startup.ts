// Start-up check: the deployed target's configuration is validated when the module loads, so a bad
// environment stops the instance at start with one message naming each bad variable (DESIGN invariant 7).
import { ConfigError, parseConfig, type Role } from './config.js';
import { log, type Logger } from './log.js';

/** Which configuration role each functions-framework target needs. */
export const TARGET_ROLES: Readonly<Record<string, Role>> = {
  webhook: 'webhook',
  syncWorker: 'worker',
  renewChannels: 'renewal',
};

/**
 * Validates the configuration of the target named by FUNCTION_TARGET (set by Cloud Functions and
 * by our local stack). Throws — so functions-framework refuses to load the function — when it is
 * invalid; the error and one ERROR log line name every bad variable, never a secret's value.
 */
export function validateTargetConfig(
  env: Readonly<Record<string, string | undefined>>,
  logger: Logger = log,
): void {
  const target = env.FUNCTION_TARGET;
  const role = target === undefined ? undefined : TARGET_ROLES[target];
  if (role === undefined) return;
  try {
    parseConfig(env, role);
  } catch (err) {
    if (err instanceof ConfigError) {
      logger.error('invalid configuration: the function cannot start', {
        target,
        problems: err.problems,
      });
    }
    throw err;
  }
}
