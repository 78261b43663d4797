// Per-user rate limit (403 userRateLimitExceeded) and injected faults matched by method + path.
// Quota: 600 requests per minute per user (CALENDAR-API.md "Errors and quotas").
import type { SimClock } from './clock.js';
import { apiError, type ApiError } from './errors.js';

export interface FaultSpec {
  method?: string;
  /** Path prefix, or a regular expression written as `/.../` (flags after the last slash). */
  path?: string;
  status: number;
  reason?: string;
  message?: string;
  count: number;
}

interface Fault extends FaultSpec {
  id: number;
  matcher: (path: string) => boolean;
}

export class Faults {
  private faults: Fault[] = [];
  private nextId = 1;
  private readonly windows = new Map<string, number[]>();
  latencyMs = 0;

  constructor(
    private readonly clock: SimClock,
    public rateLimitPerMinute: number,
  ) {}

  add(spec: FaultSpec): number {
    if (!Number.isInteger(spec.status) || spec.status < 100 || spec.status > 599) {
      throw new Error('status must be an HTTP status code');
    }
    if (!Number.isInteger(spec.count) || spec.count < 1)
      throw new Error('count must be a positive integer');
    let matcher: (p: string) => boolean = () => true;
    if (spec.path !== undefined) {
      const re = /^\/(.*)\/([a-z]*)$/s.exec(spec.path);
      if (re && spec.path.length > 1) {
        const rx = new RegExp(re[1]!, re[2]);
        matcher = (p) => rx.test(p);
      } else {
        const prefix = spec.path;
        matcher = (p) => p.startsWith(prefix);
      }
    }
    const id = this.nextId++;
    this.faults.push({ ...spec, id, matcher });
    return id;
  }

  clear(): void {
    this.faults = [];
  }

  list(): FaultSpec[] {
    return this.faults.map(({ method, path, status, reason, message, count }) => ({
      method,
      path,
      status,
      reason,
      message,
      count,
    }));
  }

  /** The first matching fault (consumed once), as the error to answer with. */
  take(method: string, path: string): ApiError | undefined {
    const f = this.faults.find(
      (x) => (!x.method || x.method.toUpperCase() === method) && x.matcher(path),
    );
    if (!f) return undefined;
    f.count--;
    if (f.count <= 0) this.faults = this.faults.filter((x) => x !== f);
    return apiError(f.status, f.reason, f.message);
  }

  /** Sliding one-minute window per user on the simulated clock. */
  checkRate(user: string): ApiError | undefined {
    const now = this.clock.now();
    const w = (this.windows.get(user) ?? []).filter((t) => t > now - 60_000);
    if (w.length >= this.rateLimitPerMinute) {
      this.windows.set(user, w);
      return apiError(403, 'userRateLimitExceeded');
    }
    w.push(now);
    this.windows.set(user, w);
    return undefined;
  }
}
