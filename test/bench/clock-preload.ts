// Bench-only preload (node --import) for the quota day: moves this process's wall clock by the offset the benchmark writes to CALSYNC_BENCH_CLOCK_FILE.
// The functions run unchanged; only Date / Date.now see simulated time (timers and performance.now do not).
import { readFileSync } from 'node:fs';

const file = process.env.CALSYNC_BENCH_CLOCK_FILE;
if (file) {
  let offset = 0;
  const read = () => {
    try {
      offset = Number(readFileSync(file, 'utf8')) || 0;
    } catch {
      /* not written yet */
    }
  };
  read();
  setInterval(read, 50).unref();
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  const now = () => realNow() + offset;
  globalThis.Date = new Proxy(RealDate, {
    construct(target, args: unknown[], newTarget: new () => object) {
      const given = args.length === 0 ? [now()] : args;
      return Reflect.construct(target as unknown as new () => object, given, newTarget);
    },
    apply() {
      return new RealDate(now()).toString();
    },
    get(target, prop, receiver: unknown) {
      if (prop === 'now') return now;
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
}
