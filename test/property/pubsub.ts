// The property test's Pub/Sub: an in-test queue on the world clock that is also the fault injector (loss, duplicates, delays, reordering), with redelivery backoff and a dead-letter limit as infra/pubsub.tf sets them.
import type { SyncMessage } from '../../functions/messages.js';

export interface Queued {
  data: SyncMessage;
  /** Pub/Sub's publishTime (world clock, RFC 3339). */
  publishTime: string;
  messageId: string;
  /** Deliveries so far. */
  attempts: number;
  /** Not delivered before this time (world clock ms): the redelivery backoff. */
  notBefore: number;
}

/**
 * infra/pubsub.tf's retry policy (10 s … 600 s). Its dead-letter limit is 10 attempts; the model
 * dead-letters after 5 to keep histories short — the backoff before the 5th attempt (150 s in
 * total) still outlasts a lease, which is what a redelivery after a dead worker needs.
 */
export const MIN_BACKOFF_MS = 10_000;
export const MAX_BACKOFF_MS = 600_000;
export const MAX_DELIVERY_ATTEMPTS = 5;

export class PubSubModel {
  private readonly queue: Queued[] = [];
  private seq = 0;
  readonly deadLettered: Queued[] = [];
  /** The message published last (to tag what the webhook just published). */
  last: Queued | undefined;

  constructor(
    private readonly now: () => number,
    private readonly prefix: string,
  ) {}

  get size(): number {
    return this.queue.length;
  }

  publish(data: Queued['data']): Queued {
    const q: Queued = {
      data,
      publishTime: new Date(this.now()).toISOString(),
      messageId: `${this.prefix}-${++this.seq}`,
      attempts: 0,
      notBefore: 0,
    };
    this.queue.push(q);
    this.last = q;
    return q;
  }

  /** Removes and returns the first n messages that are due now. */
  take(n: number): Queued[] {
    const now = this.now();
    const out: Queued[] = [];
    for (let i = 0; i < this.queue.length && out.length < n;) {
      if (this.queue[i]!.notBefore <= now) out.push(...this.queue.splice(i, 1));
      else i++;
    }
    return out;
  }

  /** Removes and returns the first due message for a subscription, if any. */
  takeFor(subscriptionId: string): Queued | undefined {
    const now = this.now();
    const i = this.queue.findIndex(
      (q) => q.notBefore <= now && q.data.subscriptionId === subscriptionId,
    );
    return i < 0 ? undefined : this.queue.splice(i, 1)[0];
  }

  /** Takes a message out of the queue (to deliver it now). */
  remove(q: Queued): Queued {
    const i = this.queue.indexOf(q);
    if (i >= 0) this.queue.splice(i, 1);
    return q;
  }

  /** The message was not acknowledged: back to the queue after the backoff, or dead-lettered. */
  nack(q: Queued): 'requeued' | 'deadLettered' {
    if (q.attempts >= MAX_DELIVERY_ATTEMPTS) {
      this.deadLettered.push(q);
      return 'deadLettered';
    }
    const backoff = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** Math.max(0, q.attempts - 1));
    q.notBefore = this.now() + backoff;
    this.queue.push(q);
    return 'requeued';
  }

  /** The earliest time a queued message becomes due (undefined when the queue is empty). */
  nextDue(): number | undefined {
    if (this.queue.length === 0) return undefined;
    return Math.min(...this.queue.map((q) => q.notBefore));
  }

  lose(pick: number): boolean {
    if (this.queue.length === 0) return false;
    this.queue.splice(pick % this.queue.length, 1);
    return true;
  }

  duplicate(pick: number): boolean {
    if (this.queue.length === 0) return false;
    const q = this.queue[pick % this.queue.length]!;
    this.queue.push({ ...q, attempts: 0 });
    return true;
  }

  delay(): boolean {
    if (this.queue.length < 2) return false;
    this.queue.push(this.queue.shift()!);
    return true;
  }

  /** Shuffles the queue with a seeded LCG; true when the order changed. */
  reorder(key: number): boolean {
    const before = this.queue.map((q) => q.messageId).join();
    let x = key + 1;
    const rnd = () => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x / 2147483648;
    };
    for (let i = this.queue.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [this.queue[i], this.queue[j]] = [this.queue[j]!, this.queue[i]!];
    }
    return this.queue.map((q) => q.messageId).join() !== before;
  }
}
