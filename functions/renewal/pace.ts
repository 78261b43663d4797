// Start pacing for the renewal steps that call Google: at most `perSecond` starts a second, so one run over thousands of channels stays inside the Calendar API's per-project quota.
//
// Google's default Calendar API quota is 10,000 requests per minute per project (and 600 per user);
// a channel renewal costs two (events.watch, channels.stop), so 40 renewals a second use 4,800 a
// minute — under half the project's quota, leaving the rest to the syncs — and renew 10,700
// channels (1.8 M calendars on 7-day channels, one hourly run) in ≈ 270 s of the run's 480 s.
// Source: https://developers.google.com/workspace/calendar/api/guides/quota ("Per minute per
// project 10,000 requests; per minute per user per project 600 requests").

/** Waits until the caller may start (slots are handed out in call order, `1000 / perSecond` ms apart). */
export type Pacer = () => Promise<void>;

export function startPacer(
  perSecond: number,
  now: () => number,
  sleep: (ms: number) => Promise<void>,
): Pacer {
  const gapMs = 1000 / perSecond;
  let next = -Infinity;
  return async () => {
    const t = now();
    // Taken synchronously: concurrent callers get distinct slots.
    const slot = Math.max(t, next);
    next = slot + gapMs;
    if (slot > t) await sleep(slot - t);
  };
}
