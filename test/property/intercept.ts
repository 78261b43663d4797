// What the property test puts between a worker and Google / the change feed: latency per call, withheld answers, injected crashes and kills, and the captured feed.
import { mulberry32 } from '../simulator/random.js';
import type { CalendarApi, CalendarApiFactory } from '../../functions/calendar/api.js';
import type { ChangeMessage } from '../../functions/changes/collect.js';
import type { ChangePublisher } from '../../functions/changes/publisher.js';

export type ApiMethod = keyof CalendarApi;

export interface ApiCall {
  method: ApiMethod;
  args: unknown[];
}

/** Decides what happens around one call: delay it, throw, withhold its answer, or never settle. */
export type Interceptor = (call: ApiCall, invoke: () => Promise<unknown>) => Promise<unknown>;

/** Every CalendarApi the factory builds goes through `intercept`. */
export function interceptApi(
  factory: CalendarApiFactory,
  intercept: Interceptor,
): CalendarApiFactory {
  return (refreshToken, options) => {
    const api = factory(refreshToken, options);
    const wrapped: Partial<Record<ApiMethod, (...args: unknown[]) => Promise<unknown>>> = {};
    for (const method of Object.keys(api) as ApiMethod[]) {
      const real = api[method] as (...args: unknown[]) => Promise<unknown>;
      wrapped[method] = (...args) => intercept({ method, args }, () => real.apply(api, args));
    }
    return wrapped as unknown as CalendarApi;
  };
}

/** A promise that never settles: the worker awaiting it is dead (no `finally` ever runs). */
export function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}

/** A point a worker stops at until the test releases it. */
export class Gate {
  private engage!: () => void;
  private open!: () => void;
  /** Resolves once a worker reached the gate. */
  readonly reached = new Promise<void>((r) => (this.engage = r));
  private readonly opened = new Promise<void>((r) => (this.open = r));
  engaged = false;

  /** Called by the stalled worker: waits until released. */
  async hold(): Promise<void> {
    this.engaged = true;
    this.engage();
    await this.opened;
  }

  release(): void {
    this.open();
  }
}

/** Seeded PRNG (the simulator's mulberry32): one stream per worker, so latency draws do not depend on scheduling. */
export const prng = mulberry32;

/** Latency of one call (ms): mostly a few ms, sometimes tens, now and then a few hundred. */
export function drawLatency(rnd: () => number): number {
  const r = rnd();
  if (r < 0.7) return Math.floor(rnd() * 5);
  if (r < 0.95) return 5 + Math.floor(rnd() * 35);
  return 100 + Math.floor(rnd() * 150);
}

/** Latency of one Firestore call (ms): mostly none, sometimes a few ms, rarely tens. */
export function drawStoreLatency(rnd: () => number): number {
  const r = rnd();
  if (r < 0.85) return 0;
  if (r < 0.98) return 2 + Math.floor(rnd() * 10);
  return 30 + Math.floor(rnd() * 50);
}

export const sleep = (ms: number) =>
  ms <= 0 ? Promise.resolve() : new Promise<void>((r) => setTimeout(r, ms));

/** One change feed message as the test's subscriber saw it, in publish order. */
export interface FeedEntry {
  worker: number;
  message: ChangeMessage;
}

/** A ChangePublisher that appends to `feed` (after `before`, which may delay or withhold it). */
export function capturePublisher(
  worker: number,
  feed: FeedEntry[],
  before: (messages: readonly ChangeMessage[]) => Promise<void>,
): ChangePublisher {
  return {
    async publish(messages) {
      await before(messages);
      for (const message of messages) feed.push({ worker, message: { ...message } });
    },
  };
}
