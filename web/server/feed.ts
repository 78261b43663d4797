// The page's live feed on the server: the functions' log lines turned into feed items, kept and streamed as server-sent events.
import type { ServerResponse } from 'node:http';
import type { FeedItem } from '../page/shared.js';

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** One function's JSON log line as a feed item, or undefined when it is not part of the story. */
export function feedItemOf(target: string, line: string, at = Date.now()): FeedItem | undefined {
  let entry: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    entry = parsed as Record<string, unknown>;
  } catch {
    return undefined; // functions-framework's banner lines are not JSON
  }
  const m = entry.message;
  if (m === 'notification published' || m === 'channel confirmed (sync)') {
    return {
      kind: 'notification',
      at,
      state: typeof entry.state === 'string' ? entry.state : 'sync',
      messageNumber: typeof entry.messageNumber === 'number' ? entry.messageNumber : null,
      publishMs: typeof entry.publishMs === 'number' ? entry.publishMs : null,
    };
  }
  if (m === 'sync' && entry.severity === 'INFO') {
    return {
      kind: 'delta',
      at,
      full: entry.full === true,
      pages: num(entry.pages),
      items: num(entry.items),
      writes: num(entry.writes),
      deletes: num(entry.deletes),
      occurrenceWrites: num(entry.occurrenceWrites),
      occurrenceDeletes: num(entry.occurrenceDeletes),
      durationMs: num(entry.durationMs),
    };
  }
  if (entry.severity === 'WARNING' || entry.severity === 'ERROR') {
    return { kind: 'problem', at, target, severity: entry.severity, message: String(m) };
  }
  return undefined;
}

/** Keeps the last items and streams new ones to every connected page. */
export class FeedHub {
  private readonly items: FeedItem[] = [];
  private readonly clients = new Set<ServerResponse>();

  constructor(private readonly keep = 100) {}

  /** Feed for startLocalStack's onLine: every function output line passes through here. */
  onLine = (target: string, line: string): void => {
    const item = feedItemOf(target, line);
    if (item) this.publish(item);
  };

  publish(item: FeedItem): void {
    this.items.push(item);
    if (this.items.length > this.keep) this.items.splice(0, this.items.length - this.keep);
    for (const res of this.clients) res.write(sse(item));
  }

  /** Answers GET /feed: what happened so far, then every new item as it happens. */
  attach(res: ServerResponse): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
    });
    res.write('retry: 1000\n\n');
    for (const item of this.items) res.write(sse(item));
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
  }

  /** Ends every open stream (the server is closing). */
  close(): void {
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}

function sse(item: FeedItem): string {
  return `data: ${JSON.stringify(item)}\n\n`;
}
