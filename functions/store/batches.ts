// Pipelined batched writes: documents go into WriteBatches of at most 499 writes, several commits in flight, bounded memory.
import type { DocumentReference, Firestore, WriteBatch } from '@google-cloud/firestore';

/**
 * Writes per batch: a fenced batch (DESIGN.md contract B) holds at most 499 writes of its own,
 * Firestore's limit of 500 minus the fence's guard.
 */
export const MAX_BATCH_WRITES = 499;
/**
 * Commits in flight at once. The raw-write baseline of `npm run bench` is fastest with 8 batches of
 * ~500 on the emulator; more only adds memory.
 */
export const DEFAULT_IN_FLIGHT = 8;

/** Where batches come from: `db.batch()`, or the write fence's `fence.batch()` in the sync path. */
export type NewBatch = () => WriteBatch;

export interface BatchQueueOptions {
  newBatch?: NewBatch;
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
  private readonly newBatch: NewBatch;
  private readonly maxWrites: number;
  private readonly maxInFlight: number;
  private open: { batch: WriteBatch; paths: string[] } | undefined;
  private readonly pending = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;
  /** Writes committed (sets and deletes) and batches committed. */
  readonly committed = { writes: 0, batches: 0 };

  constructor(db: Firestore, options: BatchQueueOptions = {}) {
    this.newBatch = options.newBatch ?? (() => db.batch());
    this.maxWrites = Math.min(options.maxWrites ?? MAX_BATCH_WRITES, MAX_BATCH_WRITES);
    this.maxInFlight = Math.max(1, options.maxInFlight ?? DEFAULT_IN_FLIGHT);
  }

  async set(ref: DocumentReference, data: Record<string, unknown>): Promise<void> {
    await this.room(ref);
    this.add(ref).set(ref, data);
    await this.sendIfFull();
  }

  async delete(ref: DocumentReference): Promise<void> {
    await this.room(ref);
    this.add(ref).delete(ref);
    await this.sendIfFull();
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

  private add(ref: DocumentReference): WriteBatch {
    this.open ??= { batch: this.newBatch(), paths: [] };
    this.open.paths.push(ref.path);
    this.pending.add(ref.path);
    return this.open.batch;
  }

  private async sendIfFull(): Promise<void> {
    if (this.open && this.open.paths.length >= this.maxWrites) await this.send();
  }

  private async send(): Promise<void> {
    const open = this.open;
    if (!open) return;
    this.open = undefined;
    while (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
    const done = open.batch.commit().then(
      () => {
        this.committed.writes += open.paths.length;
        this.committed.batches++;
      },
      (error: unknown) => {
        this.failure ??= { error };
      },
    );
    const tracked = done.finally(() => {
      this.inFlight.delete(tracked);
      for (const path of open.paths) this.pending.delete(path);
    });
    this.inFlight.add(tracked);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
