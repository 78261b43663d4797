// Per-user rate limit (403 userRateLimitExceeded) and injected faults matched by method + path:
// an error answer, an HTML error page, a held answer (released through the control API) or extra
// latency. Quota: 600 requests per minute per user (CALENDAR-API.md "Errors and quotas").
import type { SimClock } from './clock.js';
import { ApiError, apiError } from './errors.js';
import { KIND, type RealismKnobs } from './realism.js';

export interface FaultSpec {
  method?: string;
  /** Path prefix, or a regular expression written as `/.../` (flags after the last slash). */
  path?: string;
  /** Answer with this error status (Google's JSON body for reason/message). */
  status?: number;
  reason?: string;
  message?: string;
  /** 'html': the error answer is an HTML page, as Google's front end sends on some 5xx. */
  body?: 'json' | 'html';
  /**
   * Compute the answer when the request arrives (as Google would have answered then) and withhold
   * it until released through the control API (POST /_sim/held/{id}/release).
   */
  hold?: boolean;
  /** Compute the answer on arrival and send it this many (real) ms later. */
  latencyMs?: number;
  count: number;
}

/** A request whose computed answer is withheld. */
export interface HeldRequest {
  id: number;
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  user?: string;
  /** Simulated-clock ms when it arrived (its answer reflects this moment). */
  at: number;
}

/** Held answers waiting for release. */
export class HeldRequests {
  private nextId = 1;
  private readonly waiting = new Map<number, { info: HeldRequest; release: () => void }>();

  hold(info: Omit<HeldRequest, 'id'>): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((release) => this.waiting.set(id, { info: { id, ...info }, release }));
  }

  list(): HeldRequest[] {
    return [...this.waiting.values()].map((w) => w.info);
  }

  release(id: number): boolean {
    const w = this.waiting.get(id);
    if (!w) return false;
    this.waiting.delete(id);
    w.release();
    return true;
  }

  releaseAll(): number {
    const ids = [...this.waiting.keys()];
    for (const id of ids) this.release(id);
    return ids.length;
  }
}

/** Google's 5xx page from its front end (the "That's an error." page), for `body: 'html'`. */
export function htmlErrorPage(status: number): string {
  const title =
    status === 502 ? 'Server Error' : status === 503 ? 'Service Unavailable' : 'Server Error';
  return [
    '<!DOCTYPE html>',
    '<html lang=en>',
    '  <meta charset=utf-8>',
    '  <meta name=viewport content="initial-scale=1, minimum-scale=1, width=device-width">',
    `  <title>Error ${status} (${title})!!1</title>`,
    '  <a href=//www.google.com/><span id=logo aria-label=Google></span></a>',
    `  <p><b>${status}.</b> <ins>That’s an error.</ins>`,
    '  <p>The server encountered a temporary error and could not complete your request.<p>Please try again in 30 seconds.  <ins>That’s all we know.</ins>',
    '',
  ].join('\n');
}

interface Fault extends FaultSpec {
  id: number;
  matcher: (path: string) => boolean;
}

export class Faults {
  private faults: Fault[] = [];
  private nextId = 1;
  private readonly windows = new Map<string, number[]>();
  private projectWindow: number[] = [];
  latencyMs = 0;

  constructor(
    private readonly clock: SimClock,
    public rateLimitPerMinute: number,
    private readonly realism: RealismKnobs = { ...KIND },
  ) {}

  add(spec: FaultSpec): number {
    if (
      spec.status !== undefined &&
      (!Number.isInteger(spec.status) || spec.status < 100 || spec.status > 599)
    ) {
      throw new Error('status must be an HTTP status code');
    }
    if (spec.status === undefined && !spec.hold && spec.latencyMs === undefined)
      throw new Error('a fault needs status, hold or latencyMs');
    if (spec.latencyMs !== undefined && !(spec.latencyMs >= 0 && spec.latencyMs <= 600_000))
      throw new Error('latencyMs must be in [0, 600000]');
    if (spec.body !== undefined && spec.body !== 'json' && spec.body !== 'html')
      throw new Error("body must be 'json' or 'html'");
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
    return this.faults.map(({ id: _id, matcher: _m, ...spec }) => spec);
  }

  /** The first matching fault, consumed once. */
  take(method: string, path: string): FaultSpec | undefined {
    const f = this.faults.find(
      (x) => (!x.method || x.method.toUpperCase() === method) && x.matcher(path),
    );
    if (!f) return undefined;
    f.count--;
    if (f.count <= 0) this.faults = this.faults.filter((x) => x !== f);
    return f;
  }

  /** The error a fault answers with, if it has a status. */
  static errorOf(f: FaultSpec): ApiError | undefined {
    if (f.status === undefined) return undefined;
    const e = apiError(f.status, f.reason, f.message);
    if (f.body === 'html') e.html = htmlErrorPage(f.status);
    return e;
  }

  /**
   * Sliding one-minute windows on the simulated clock: per user (600/min) and, when set, per
   * project (10,000/min in Google's usage-limits guide).
   */
  checkRate(user: string): ApiError | undefined {
    const now = this.clock.now();
    const projectLimit = this.realism.projectRateLimitPerMinute;
    if (projectLimit > 0) {
      this.projectWindow = this.projectWindow.filter((t) => t > now - 60_000);
      if (this.projectWindow.length >= projectLimit) return quotaError('project');
    }
    const w = (this.windows.get(user) ?? []).filter((t) => t > now - 60_000);
    if (w.length >= this.rateLimitPerMinute) {
      this.windows.set(user, w);
      return this.realism.userRateLimitReason === 'rateLimitExceeded'
        ? quotaError('user')
        : apiError(403, 'userRateLimitExceeded');
    }
    w.push(now);
    this.windows.set(user, w);
    if (projectLimit > 0) this.projectWindow.push(now);
    return undefined;
  }
}

/** The project number the simulator's quota messages name. */
export const SIM_PROJECT_NUMBER = '1077004567890';

/**
 * Google's current quota answers (403, PERMISSION_DENIED, the item's message = the top message).
 * Per user: reason rateLimitExceeded, "… limit 'Queries per minute per user' …" (recorded in
 * Atrejoe/Inky-Calendar-Server#104 and alextselegidis/easyappointments#995). Per project: "…
 * limit 'Queries per minute' …" (calcom/cal.diy#18079); its reason is quotaExceeded as the issue
 * and Google's errors guide name it (no recording shows the reason next to that text).
 */
function quotaError(scope: 'user' | 'project'): ApiError {
  const limit = scope === 'user' ? 'Queries per minute per user' : 'Queries per minute';
  const message = `Quota exceeded for quota metric 'Queries' and limit '${limit}' of service 'calendar-json.googleapis.com' for consumer 'project_number:${SIM_PROJECT_NUMBER}'.`;
  return new ApiError(
    403,
    {
      message,
      domain: 'usageLimits',
      reason: scope === 'user' ? 'rateLimitExceeded' : 'quotaExceeded',
    },
    {},
    { message, status: 'PERMISSION_DENIED' },
  );
}
