// Pipelined fenced writes: documents go into batches of at most 499 writes (plus the fence's guard), several commits in flight, bounded memory.
import type { DocumentReference, Firestore, WriteBatch } from '@google-cloud/firestore';
import { commitFenced, FenceRevokedError, MAX_FENCED_BATCH, type WriteFence } from './fence.js';

/**
 * Commits in flight at once. The raw-write baseline of `npm run bench` is fastest with 4–8 batches
 * of ~500 on the emulator; more only adds memory.
 */
export const DEFAULT_IN_FLIGHT = 8;

/** One queued write; `tag` is the caller's own (e.g. the event op it came from). */
export interface QueuedWrite {
  ref: DocumentReference;
  /** Absent for a delete. */
  data: Record<string, unknown> | undefined;
  tag: unknown;
}

/**
 * Called when a commit is refused for a reason other than the fence (e.g. INVALID_ARGUMENT: a
 * document Firestore will not store). Resolves once the writes are dealt with some other way;
 * rejects to fail the queue.
 */
export type RefusedHandler = (writes: readonly QueuedWrite[], error: unknown) => Promise<void>;

export interface BatchQueueOptions {
  /** Every batch carries this fence's guard and fails atomically once the lease is revoked. */
  fence?: WriteFence;
  onRefused?: RefusedHandler;
  maxWrites?: number;
  maxInFlight?: number;
}

/**
 * Collects sets and deletes into batches and commits them in the background, at most
 * `maxInFlight` at once: a caller adding a write waits only when that many are in flight, so
 * memory holds at most (maxInFlight + 1) × maxWrites writes. Not atomic across batches (every
 * write of the sync path is idempotent). A second write to a document still pending waits for the
 * first to land, so writes to one document keep their order. After a failed commit every later
 * call rejects; `flush` rejects with the first failure once nothing is in flight any more.
 */
export class BatchQueue {
  private readonly fence: WriteFence | undefined;
  private readonly onRefused: RefusedHandler | undefined;
  private readonly maxWrites: number;
  private readonly maxInFlight: number;
  private open: { batch: WriteBatch; writes: QueuedWrite[] } | undefined;
  private readonly pending = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;
  /** Writes committed (sets and deletes) and batches committed. */
  readonly committed = { writes: 0, batches: 0 };

  constructor(
    private readonly db: Firestore,
    options: BatchQueueOptions = {},
  ) {
    this.fence = options.fence;
    this.onRefused = options.onRefused;
    this.maxWrites = Math.min(options.maxWrites ?? MAX_FENCED_BATCH, MAX_FENCED_BATCH);
    this.maxInFlight = Math.max(1, options.maxInFlight ?? DEFAULT_IN_FLIGHT);
  }

  async set(ref: DocumentReference, data: Record<string, unknown>, tag?: unknown): Promise<void> {
    await this.room(ref);
    this.add({ ref, data, tag }).set(ref, data);
    await this.sendIfFull();
  }

  async delete(ref: DocumentReference, tag?: unknown): Promise<void> {
    await this.room(ref);
    this.add({ ref, data: undefined, tag }).delete(ref);
    await this.sendIfFull();
  }

  /** Whether a write to this document is queued or in flight. */
  has(ref: DocumentReference): boolean {
    return this.pending.has(ref.path);
  }

  /** Commits what is open and waits for every commit in flight; rejects with the first failure. */
  async flush(): Promise<void> {
    if (this.open) await this.send();
    await this.settle();
    this.throwIfFailed();
  }

  /** Waits for every commit in flight, whatever their outcome (error paths: nothing left running). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async room(ref: DocumentReference): Promise<void> {
    this.throwIfFailed();
    if (this.pending.has(ref.path)) await this.flush();
  }

  private add(write: QueuedWrite): WriteBatch {
    this.open ??= { batch: this.fence ? this.fence.batch() : this.db.batch(), writes: [] };
    this.open.writes.push(write);
    this.pending.add(write.ref.path);
    return this.open.batch;
  }

  private async sendIfFull(): Promise<void> {
    if (this.open && this.open.writes.length >= this.maxWrites) await this.send();
  }

  private async send(): Promise<void> {
    const open = this.open;
    if (!open) return;
    this.open = undefined;
    while (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
    const done = this.commit(open.batch, open.writes).then(
      () => {
        this.committed.writes += open.writes.length;
        this.committed.batches++;
      },
      (error: unknown) => {
        this.failure ??= { error };
      },
    );
    const tracked = done.finally(() => {
      this.inFlight.delete(tracked);
      for (const w of open.writes) this.pending.delete(w.ref.path);
    });
    this.inFlight.add(tracked);
  }

  private async commit(batch: WriteBatch, writes: readonly QueuedWrite[]): Promise<void> {
    try {
      if (this.fence) await commitFenced(this.fence, batch);
      else await batch.commit();
    } catch (err) {
      if (err instanceof FenceRevokedError || !this.onRefused) throw err;
      await this.onRefused(writes, err);
    }
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
