// Pure renewal decisions: what a subscription's channel needs now (renew, recover, nothing), from its document alone.
import type { Mode, SyncStatus } from '../store/schema.js';

/** The channel fields a decision looks at, in ms since epoch (null when absent). */
export interface ChannelState {
  status: SyncStatus | 'active' | 'needs_reauth';
  mode: Mode;
  channel: { expiration: number; createdAt: number } | null;
  lastNotificationAt: number | null;
}

export interface DecisionConfig {
  renewWindowMs: number;
  silentChannelMs: number;
}

export type ChannelNeed =
  /** Live channel expiring within the window: open its successor, then stop it. */
  | 'renew'
  /** Recovery (changes may have been missed, a sync follows): no channel at all. */
  | 'missing'
  /** Recovery: the channel's expiration has passed. */
  | 'expired'
  /**
   * Recovery: no notification for longer than silentChannelMs although the channel once delivered
   * (lastNotificationAt set) and is itself older than that.
   */
  | 'silent'
  | 'none';

export const RECOVERY_NEEDS: ReadonlySet<ChannelNeed> = new Set(['missing', 'expired', 'silent']);

export function channelNeed(s: ChannelState, now: number, c: DecisionConfig): ChannelNeed {
  // `error` calendars keep their channel: when the error clears, no notification was missed.
  if ((s.status !== 'active' && s.status !== 'error') || s.mode !== 'push') return 'none';
  if (!s.channel) return 'missing';
  if (s.channel.expiration <= now) return 'expired';
  if (s.channel.expiration <= now + c.renewWindowMs) return 'renew';
  if (s.lastNotificationAt !== null) {
    const heardOf = Math.max(s.lastNotificationAt, s.channel.createdAt);
    if (heardOf < now - c.silentChannelMs) return 'silent';
  }
  return 'none';
}
