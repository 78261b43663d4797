// Watch channels and push-notification delivery: real HTTP POSTs with Google's X-Goog-* headers.
// https://developers.google.com/calendar/api/guides/push ; header set and rules in
// ../shared/fixtures/google-real/google-docs/push-examples.json and CALENDAR-API.md "Notifications".
import http from 'node:http';
import https from 'node:https';
import type { SimClock } from './clock.js';
import { mulberry32 } from './random.js';
import { drawLag, maxLag, type RealismKnobs } from './realism.js';

export type ChannelKind = 'events' | 'calendarList';

export interface Channel {
  id: string;
  kind: ChannelKind;
  /** Calendar id (events) or user email (calendarList). */
  target: string;
  resourceId: string;
  resourceUri: string;
  token?: string;
  address: string;
  expiration: number;
  owner: string;
  clientId: string;
  stopped: boolean;
  lastNumber: number;
  chain: Promise<void>;
}

export interface DeliveryRecord {
  channelId: string;
  state: string;
  messageNumber: number;
  attempt: number;
  /** HTTP status, 0 for a network error, -1 when dropped on purpose. */
  status: number;
  at: number;
}

export interface NotifierOptions {
  clock: SimClock;
  seed: number;
  realism: RealismKnobs;
  retryBaseMs: number;
  maxAttempts: number;
  dropRate: number;
  log: (msg: string) => void;
}

/** Google: "The Calendar API ... retries with exponential backoff" on these statuses only. */
const RETRIED = new Set([500, 502, 503, 504]);
/** APIs-Google crawler user agent (https://developers.google.com/search/docs/crawling-indexing/google-special-case-crawlers). */
export const NOTIFICATION_USER_AGENT =
  'APIs-Google (+https://developers.google.com/webmasters/APIs-Google.html)';

export class Notifier {
  readonly channels = new Map<string, Channel>();
  readonly deliveries: DeliveryRecord[] = [];
  dropRate: number;
  stragglersAfterStop = 0;
  private readonly rand: () => number;
  /** A separate stream for the realism knobs, so default runs draw exactly as before. */
  private readonly rnd: () => number;
  private readonly clockWaits = new Set<() => void>();
  private pending = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private readonly aborts = new Set<AbortController>();
  private closed = false;

  constructor(private readonly opts: NotifierOptions) {
    this.rand = mulberry32(opts.seed ^ 0x5eed);
    this.rnd = mulberry32(opts.seed ^ 0xde1a);
    this.dropRate = opts.dropRate;
  }

  live(ch: Channel): boolean {
    return !ch.stopped && this.opts.clock.now() < ch.expiration;
  }

  add(ch: Channel): Promise<void> {
    this.channels.set(ch.id, ch);
    // The `sync` message, number 1, right after the channel is created.
    return this.enqueue(ch, 'sync', 1, false);
  }

  stop(ch: Channel): void {
    ch.stopped = true;
    if (this.stragglersAfterStop > 0) {
      this.stragglersAfterStop--;
      this.enqueue(ch, 'exists', this.nextNumber(ch), true);
    }
  }

  /**
   * One notification per live channel watching `target`. With the realism knobs: delivered
   * `notificationDelayMs` later (simulated clock; webhookdb#563 reports a minute), sometimes twice
   * (the same message again, or a second message — google-api-java-client-services#20532), and
   * sometimes followed by an `exists` that no change explains (noDeltaNotificationRate).
   */
  notify(kind: ChannelKind, target: string, state: 'exists' | 'not_exists' = 'exists'): void {
    const r = this.opts.realism;
    for (const ch of this.channels.values()) {
      if (ch.kind !== kind || ch.target !== target || !this.live(ch)) continue;
      const n = this.nextNumber(ch);
      if (state === 'exists' && this.rand() < this.dropRate) {
        // Delivery is "not 100% reliable": this message is lost (its number leaves a gap).
        this.deliveries.push({
          channelId: ch.id,
          state,
          messageNumber: n,
          attempt: 0,
          status: -1,
          at: this.opts.clock.now(),
        });
        continue;
      }
      this.send(ch, state, n, 0);
      if (state !== 'exists') continue;
      if (r.duplicateNotificationRate > 0 && this.rnd() < r.duplicateNotificationRate) {
        const again = this.rnd() < 0.5 ? n : this.nextNumber(ch);
        this.send(ch, state, again, 200 + Math.floor(this.rnd() * 800));
      }
      if (r.noDeltaNotificationRate > 0 && this.rnd() < r.noDeltaNotificationRate)
        this.send(ch, 'exists', this.nextNumber(ch), Math.floor(this.rnd() * 2000));
    }
  }

  /** Deliver now (in order per channel) or, with a delay, on its own at that simulated time. */
  private send(ch: Channel, state: string, n: number, extraMs: number): void {
    const delay = this.opts.realism.notificationDelayMs;
    if (maxLag(delay) === 0 && extraMs === 0) {
      void this.enqueue(ch, state, n, false);
      return;
    }
    const at = this.opts.clock.now() + drawLag(delay, this.rnd()) + extraMs;
    this.pending++;
    const wait = this.opts.clock.until(at);
    this.clockWaits.add(wait.cancel);
    void wait.done
      .then(() => {
        this.clockWaits.delete(wait.cancel);
        return this.deliver(ch, state, n, false);
      })
      .catch(() => undefined)
      .finally(() => this.settle());
  }

  private settle(): void {
    this.pending--;
    if (this.pending === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Increasing, not consecutive (CALENDAR-API.md: "a gap is not a loss"). */
  private nextNumber(ch: Channel): number {
    ch.lastNumber += 1 + (this.rand() < 0.5 ? 1 + Math.floor(this.rand() * 5) : 0);
    return ch.lastNumber;
  }

  private enqueue(ch: Channel, state: string, n: number, straggler: boolean): Promise<void> {
    this.pending++;
    const run = ch.chain
      .then(() => this.deliver(ch, state, n, straggler))
      .finally(() => this.settle());
    ch.chain = run.catch(() => undefined);
    return ch.chain;
  }

  private async deliver(ch: Channel, state: string, n: number, straggler: boolean): Promise<void> {
    for (let attempt = 1; attempt <= this.opts.maxAttempts; attempt++) {
      if (this.closed) return;
      // Nothing after expiry (simulated clock) or stop, except an injected straggler.
      if (!straggler && !this.live(ch)) return;
      const status = await this.post(ch, state, n);
      this.deliveries.push({
        channelId: ch.id,
        state,
        messageNumber: n,
        attempt,
        status,
        at: this.opts.clock.now(),
      });
      this.opts.log(`notify ${ch.id} #${n} ${state} -> ${status} (attempt ${attempt})`);
      if (!RETRIED.has(status)) return;
      if (attempt < this.opts.maxAttempts)
        await this.sleep(this.opts.retryBaseMs * 2 ** (attempt - 1));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.set(t, resolve);
    });
  }

  private post(ch: Channel, state: string, n: number): Promise<number> {
    const headers: Record<string, string> = {
      'Content-Type': 'application/json; utf-8',
      'Content-Length': '0',
      'User-Agent': NOTIFICATION_USER_AGENT,
      'X-Goog-Channel-ID': ch.id,
      'X-Goog-Channel-Expiration': new Date(ch.expiration).toUTCString(),
      'X-Goog-Resource-ID': ch.resourceId,
      'X-Goog-Resource-URI': ch.resourceUri,
      'X-Goog-Resource-State': state,
      'X-Goog-Message-Number': String(n),
    };
    if (ch.token !== undefined) headers['X-Goog-Channel-Token'] = ch.token;
    const ac = new AbortController();
    this.aborts.add(ac);
    return new Promise<number>((resolve) => {
      let url: URL;
      try {
        url = new URL(ch.address);
      } catch {
        resolve(0);
        return;
      }
      const mod = url.protocol === 'https:' ? https : http;
      const req = mod.request(
        url,
        { method: 'POST', headers, signal: ac.signal, timeout: 10_000 },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve(0));
      req.end();
    }).finally(() => this.aborts.delete(ac));
  }

  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    for (const [t, resolve] of this.timers) {
      clearTimeout(t);
      resolve();
    }
    this.timers.clear();
    for (const cancel of [...this.clockWaits]) cancel();
    this.clockWaits.clear();
    for (const ac of this.aborts) ac.abort();
  }
}
