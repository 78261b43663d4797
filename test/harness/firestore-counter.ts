// Counts Firestore document reads and writes made by this process (as Firestore bills them), by wrapping the client's read and commit paths.
//
// Reads: a query costs its result size (at least 1: a query that finds nothing is billed one
// read); `getAll` / `doc.get` cost one per document asked for, found or not — inside transactions
// too. Writes: each operation of a committed batch or transaction. The Firestore emulator offers
// no usage figures, so the bench and the tests count at the client, in their own process only.
import { Firestore, Query, Transaction, WriteBatch } from '@google-cloud/firestore';

export interface FirestoreCounts {
  reads: number;
  writes: number;
}

type Fn = (this: unknown, ...args: unknown[]) => Promise<unknown>;

/** The private methods wrapped (present in @google-cloud/firestore 8; checked at install). */
interface Internals {
  query: { _get: Fn };
  tx: { getSingleFn: Fn; getBatchFn: Fn };
  batch: { _commit: Fn };
  db: { getAll: Fn };
}

/**
 * Starts counting; `stop()` restores the client. Only one counter at a time. Counts every client
 * of this process, so measure one thing at a time.
 */
export function countFirestore(): FirestoreCounts & { stop(): void } {
  const counts = { reads: 0, writes: 0 };
  const p = {
    query: Query.prototype,
    tx: Transaction.prototype,
    batch: WriteBatch.prototype,
    db: Firestore.prototype,
  } as unknown as Internals;
  const originals = {
    queryGet: p.query._get,
    single: p.tx.getSingleFn,
    batchGet: p.tx.getBatchFn,
    commit: p.batch._commit,
    getAll: p.db.getAll,
  };
  for (const [name, fn] of Object.entries(originals)) {
    if (typeof fn !== 'function') throw new Error(`firestore-counter: no ${name} to wrap`);
  }
  p.query._get = async function (this: unknown, ...args) {
    const out = (await originals.queryGet.apply(this, args)) as { result: { size: number } };
    counts.reads += Math.max(1, out.result.size);
    return out;
  };
  p.tx.getSingleFn = async function (this: unknown, ...args) {
    const out = await originals.single.apply(this, args);
    counts.reads += 1;
    return out;
  };
  p.tx.getBatchFn = async function (this: unknown, ...args) {
    const out = (await originals.batchGet.apply(this, args)) as { result: unknown[] };
    counts.reads += out.result.length;
    return out;
  };
  p.db.getAll = async function (this: unknown, ...args) {
    const out = (await originals.getAll.apply(this, args)) as unknown[];
    counts.reads += out.length;
    return out;
  };
  p.batch._commit = async function (this: unknown, ...args) {
    const n = (this as { _ops: unknown[] })._ops.length;
    const out = await originals.commit.apply(this, args);
    counts.writes += n;
    return out;
  };
  return Object.assign(counts, {
    stop() {
      p.query._get = originals.queryGet;
      p.tx.getSingleFn = originals.single;
      p.tx.getBatchFn = originals.batchGet;
      p.db.getAll = originals.getAll;
      p.batch._commit = originals.commit;
    },
  });
}
