// Human output for the CLI: relative durations ("3h ago", "in 6d 23h") and a plain aligned table.

/** "45s", "12m", "3h 5m", "6d 23h" for a duration in ms (absolute value). */
export function humanDuration(ms: number): string {
  const s = Math.floor(Math.abs(ms) / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 === 0 ? `${h}h` : `${h}h ${m % 60}m`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d}d` : `${d}d ${h % 24}h`;
}

/** "5m ago" for a past instant, "never" when absent. */
export function ago(at: number | null, now: number): string {
  if (at === null) return 'never';
  return at > now ? `in ${humanDuration(at - now)}` : `${humanDuration(now - at)} ago`;
}

/** "6d 23h" until an instant, "expired 2h ago" when past, "-" when absent. */
export function until(at: number | null, now: number): string {
  if (at === null) return '-';
  return at <= now ? `expired ${humanDuration(now - at)} ago` : humanDuration(at - now);
}

/** Cuts a cell to `max` characters with an ellipsis. */
export function clip(text: string, max: number): string {
  const one = text.replace(/\s+/g, ' ');
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** A left-aligned table with a header row and two spaces between columns. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}
