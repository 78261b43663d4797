// BatchQueue with fake batches: at most N commits in flight, ≤ 499 writes each, a document's writes in order, the first failure surfaces.
import type { DocumentReference, Firestore, WriteBatch } from '@google-cloud/firestore';
import { describe, expect, it } from 'vitest';
import { BatchQueue } from '../../../functions/store/batches.js';
import { MAX_FENCED_BATCH, type WriteFence } from '../../../functions/store/fence.js';

interface FakeBatch {
  writes: string[];
  finish(error?: Error): void;
}

/** Batches whose commits stay open until the test finishes them. */
function fakes() {
  const made: FakeBatch[] = [];
  let open = 0;
  let maxOpen = 0;
  const newBatch = (): WriteBatch => {
    const writes: string[] = [];
    let finish!: (error?: Error) => void;
    const done = new Promise<void>((resolve, reject) => {
      finish = (error) => {
        open--;
        if (error) reject(error);
        else resolve();
      };
    });
    made.push({ writes, finish: (e) => finish(e) });
    return {
      set: (ref: DocumentReference) => void writes.push(`set ${ref.path}`),
      delete: (ref: DocumentReference) => void writes.push(`delete ${ref.path}`),
      commit: () => {
        open++;
        maxOpen = Math.max(maxOpen, open);
        return done;
      },
    } as unknown as WriteBatch;
  };
  const fence: WriteFence = { subscriptionId: 's', fence: 1, batch: newBatch };
  return { made, fence, maxOpen: () => maxOpen };
}

const ref = (id: string) => ({ path: `c/${id}` }) as DocumentReference;
const db = {} as Firestore;
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('BatchQueue', () => {
  it('never holds more than 499 writes in a batch, nor more than maxInFlight commits', async () => {
    const f = fakes();
    const q = new BatchQueue(db, { fence: f.fence, maxWrites: 1000, maxInFlight: 2 });
    const adding = (async () => {
      for (let i = 0; i < 2000; i++) await q.set(ref(`d${i}`), { i });
      await q.flush();
    })();
    // Land commits one at a time, oldest first, until everything is written.
    for (let landed = 0; landed < f.made.length || landed === 0; landed++) {
      await tick();
      expect(
        f.made.filter((b, i) => i >= landed && b.writes.length > 0).length,
      ).toBeLessThanOrEqual(3);
      f.made[landed]?.finish();
    }
    await adding;
    expect(f.maxOpen()).toBe(2);
    expect(Math.max(...f.made.map((b) => b.writes.length))).toBe(MAX_FENCED_BATCH);
    expect(f.made.reduce((n, b) => n + b.writes.length, 0)).toBe(2000);
    expect(q.committed).toEqual({ writes: 2000, batches: Math.ceil(2000 / MAX_FENCED_BATCH) });
  });

  it("a second write to a document waits until the first one's batch landed", async () => {
    const f = fakes();
    const q = new BatchQueue(db, { fence: f.fence });
    await q.set(ref('a'), { v: 1 });
    await q.set(ref('b'), { v: 1 });
    const second = q.set(ref('a'), { v: 2 });
    await tick();
    expect(f.made).toHaveLength(1); // not yet in a batch of its own: the first must land first
    f.made[0]!.finish();
    await second;
    expect(f.made).toHaveLength(2);
    expect(f.made[1]!.writes).toEqual(['set c/a']);
    const flushing = q.flush();
    f.made[1]!.finish();
    await flushing;
  });

  it('a failed commit fails the next write and the flush, after nothing is left in flight', async () => {
    const f = fakes();
    const q = new BatchQueue(db, { fence: f.fence, maxWrites: 2, maxInFlight: 4 });
    await q.set(ref('a'), {});
    await q.set(ref('b'), {}); // full: committing
    await q.set(ref('c'), {});
    await q.set(ref('d'), {}); // committing
    f.made[0]!.finish(new Error('emulator said no'));
    await tick();
    await expect(q.set(ref('e'), {})).rejects.toThrow('emulator said no');
    let flushed = false;
    const flushing = q.flush().catch((e: unknown) => {
      flushed = true;
      throw e;
    });
    await tick();
    expect(flushed).toBe(false); // the second commit is still in flight
    f.made[1]!.finish();
    await expect(flushing).rejects.toThrow('emulator said no');
  });
});

describe('BatchQueue refusals', () => {
  it('a refused batch goes to onRefused with its tagged writes; a revoked fence does not', async () => {
    const f = fakes();
    const handed: unknown[][] = [];
    const q = new BatchQueue(db, {
      fence: f.fence,
      maxWrites: 2,
      onRefused: async (writes) => void handed.push(writes.map((w) => w.tag)),
    });
    await q.set(ref('a'), {}, 'op-a');
    await q.delete(ref('b'), 'op-b'); // full: committing
    f.made[0]!.finish(Object.assign(new Error('3 INVALID_ARGUMENT: too big'), { code: 3 }));
    await q.flush();
    expect(handed).toEqual([['op-a', 'op-b']]);

    await q.set(ref('c'), {}, 'op-c');
    const flushing = q.flush();
    f.made[1]!.finish(Object.assign(new Error('6 ALREADY_EXISTS'), { code: 6 }));
    await expect(flushing).rejects.toMatchObject({ name: 'FenceRevokedError' });
    expect(handed).toHaveLength(1);
  });
});
