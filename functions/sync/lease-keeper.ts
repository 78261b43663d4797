// Keeps one sync's lease: renews it ahead of expiry, bounds every call by it, and owns its write fence.
import type { Firestore } from '@google-cloud/firestore';
import { leaseFence, type WriteFence } from '../store/fence.js';
import { beginListing, renewLease, type HeldLease } from '../store/lease.js';
import type { SubscriptionDoc } from '../store/schema.js';

/** The fence moved under us: another worker took over (or the calendar was removed); nothing committed. */
export class LeaseLostError extends Error {
  constructor(subscriptionId: string, options?: { cause?: unknown }) {
    super(`lease on ${subscriptionId} was taken over; nothing committed`, options);
    this.name = 'LeaseLostError';
  }
}

/**
 * The lease of one runSync. Correctness never depends on timing — every write carries the fence
 * (store/fence.ts) — but a worker that keeps its lease alive wastes no work: the lease is renewed
 * whenever less than two thirds of it is left, and every call to Google gets a deadline a margin
 * before the lease (as this worker knows it) runs out, so no call outlives the lease.
 */
export class LeaseKeeper {
  readonly fence: WriteFence;
  private expiresAt: number;

  constructor(
    private readonly db: Firestore,
    readonly lease: HeldLease,
    expiresAt: number,
    private readonly now: () => number,
    private readonly leaseMs: number,
  ) {
    this.fence = leaseFence(db, lease);
    this.expiresAt = expiresAt;
  }

  /** Time kept free at the end of the lease: a call is aborted this long before it expires. */
  get marginMs(): number {
    return Math.min(10_000, Math.floor(this.leaseMs / 6));
  }

  /** Renews when less than two thirds of the lease is left; LeaseLostError when it is gone. */
  async ensure(): Promise<void> {
    if (this.expiresAt - this.now() > (this.leaseMs * 2) / 3) return;
    const next = await renewLease(this.db, this.lease, this.now(), this.leaseMs);
    if (next === false) throw new LeaseLostError(this.lease.subscriptionId);
    this.expiresAt = next;
  }

  /**
   * Starts a listing once `due(document)` has come (see beginListing): `wait` with the time to
   * wait for, or whether a full sync was requested, how many notifications it answers and the
   * document as it was.
   */
  async begin(
    due?: (sub: SubscriptionDoc) => number,
  ): Promise<
    | { kind: 'wait'; until: number }
    | { kind: 'begun'; fullRequested: boolean; notified: number; sub: SubscriptionDoc }
  > {
    const begun = await beginListing(this.db, this.lease, this.now(), this.leaseMs, due);
    if (begun.kind === 'lost') throw new LeaseLostError(this.lease.subscriptionId);
    if (begun.kind === 'wait') return begun;
    this.expiresAt = begun.expiresAt;
    return { kind: 'begun', fullRequested: begun.full, notified: begun.notified, sub: begun.sub };
  }

  /** Aborts when the lease is about to run out (combined with the caller's signal, if any). */
  deadline(outer?: AbortSignal): AbortSignal {
    const left = Math.max(0, this.expiresAt - this.marginMs - this.now());
    const timeout = AbortSignal.timeout(left);
    return outer ? AbortSignal.any([outer, timeout]) : timeout;
  }

  /** Ensures the lease, then a deadline for the next call. */
  async forCall(outer?: AbortSignal): Promise<AbortSignal> {
    await this.ensure();
    return this.deadline(outer);
  }
}
