// full_sync baseline, run as its own Node process: the fastest plain batched write of the documents the sync stored (events and occurrences), to the same emulator.
// Usage: node --import tsx test/bench/raw-write.ts '{"projectId":"…","sources":["users/u/calendars/c/events", …]}'
import { Firestore, type DocumentData } from '@google-cloud/firestore';
import { cpuSecondsOf } from './proc.js';

interface Input {
  projectId: string;
  /** Collections whose documents are written again, under bench-raw/… (the same number of documents). */
  sources: string[];
  /** Only the two variants that win on this machine. */
  quick?: boolean;
  /** The Firestore emulator's process: its CPU is measured per variant. */
  emulatorPid?: number;
}

const input = JSON.parse(process.argv[2] ?? '{}') as Input;
const db = new Firestore({ projectId: input.projectId });
const docs: [string, DocumentData][] = [];
for (const [s, source] of input.sources.entries()) {
  const snap = await db.collection(source).get();
  for (const d of snap.docs) docs.push([`${s}-${d.id}`, d.data()]);
}

async function batched(path: string, size: number, concurrency: number): Promise<void> {
  const col = db.collection(path);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < docs.length) {
        const chunk = docs.slice(next, next + size);
        next += size;
        const batch = db.batch();
        for (const [id, data] of chunk) batch.set(col.doc(id), data);
        await batch.commit();
      }
    }),
  );
}

async function bulk(path: string): Promise<void> {
  const col = db.collection(path);
  const writer = db.bulkWriter({ throttling: false });
  for (const [id, data] of docs) void writer.set(col.doc(id), data);
  await writer.close();
}

const variants: [string, (path: string) => Promise<void>][] = [
  ['WriteBatch 500 × 1', (p) => batched(p, 500, 1)],
  ['WriteBatch 500 × 4', (p) => batched(p, 500, 4)],
  ['WriteBatch 500 × 8', (p) => batched(p, 500, 8)],
  ['WriteBatch 250 × 16', (p) => batched(p, 250, 16)],
  ['BulkWriter', (p) => bulk(p)],
];
const results: {
  variant: string;
  docsPerS: number;
  cpuSeconds: number;
  emulatorCpuSeconds: number;
}[] = [];
for (const [i, [variant, run]] of variants.entries()) {
  if (input.quick && i !== 2 && i !== 3) continue;
  const t = performance.now();
  const cpu = process.cpuUsage();
  const emulatorCpu = input.emulatorPid === undefined ? NaN : cpuSecondsOf(input.emulatorPid);
  await run(`bench-raw/v${i}/docs`);
  const used = process.cpuUsage(cpu);
  const emulatorCpuSeconds =
    input.emulatorPid === undefined ? NaN : cpuSecondsOf(input.emulatorPid) - emulatorCpu;
  results.push({
    variant,
    docsPerS: docs.length / ((performance.now() - t) / 1000),
    cpuSeconds: (used.user + used.system) / 1e6,
    emulatorCpuSeconds,
  });
}
await db.terminate();
console.log(
  JSON.stringify({ docs: docs.length, results, maxRssMb: process.resourceUsage().maxRSS / 1024 }),
);
