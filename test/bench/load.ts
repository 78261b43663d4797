// The webhook benchmark's load generator, run as a SECOND process: autocannon against one URL, prints one JSON summary line.
import { createRequire } from 'node:module';

interface Options {
  url: string;
  connections: number;
  durationS: number;
  headers: Record<string, string>;
}

interface AutocannonResult {
  requests: { total: number; average: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
  '2xx': number;
}

type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;

const require = createRequire(import.meta.url);
const autocannon = require('autocannon') as Autocannon; // CommonJS package without type declarations

const opts = JSON.parse(process.argv[2] ?? '{}') as Options;
const result = await autocannon({
  url: opts.url,
  method: 'POST',
  connections: opts.connections,
  duration: opts.durationS,
  headers: opts.headers,
});
console.log(
  JSON.stringify({
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    durationS: result.duration,
    rps: result['2xx'] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
  }),
);
