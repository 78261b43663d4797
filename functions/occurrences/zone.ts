// Wall-clock ↔ instant in an IANA time zone, with RFC 5545 rules for DST gaps and overlaps.
import { zoneOffsetMs } from '../time/event-times.js';

const DAY_MS = 24 * 3600 * 1000;

/** Local wall-clock time of `ms` in `timeZone`, as a "floating" value (UTC fields = wall fields). */
export function wallOf(ms: number, timeZone: string): number {
  return ms + zoneOffsetMs(timeZone, ms);
}

/**
 * The instant at which wall-clock time `wall` (floating ms) happens in `timeZone`. Ambiguous
 * (fall back): the first of the two instants. Non-existent (spring forward): read with the
 * offset in force before the gap, as RFC 5545 says (02:30 in a 02:00→03:00 gap becomes 03:30).
 */
export function instantOfWall(wall: number, timeZone: string): number {
  const before = zoneOffsetMs(timeZone, wall - DAY_MS);
  const offsets = [before, zoneOffsetMs(timeZone, wall), zoneOffsetMs(timeZone, wall + DAY_MS)];
  const fits = offsets
    .map((o) => wall - o)
    .filter((c) => c + zoneOffsetMs(timeZone, c) === wall)
    .sort((a, b) => a - b);
  return fits[0] ?? wall - before;
}

/** Answers of isKnownZone: building an Intl.DateTimeFormat costs ~0.5 ms, and a sync asks per event. */
const knownZones = new Map<string, boolean>();
const KNOWN_ZONES_MAX = 1000;

/** Whether `timeZone` is an IANA zone this runtime knows. */
export function isKnownZone(timeZone: string | null | undefined): timeZone is string {
  if (!timeZone) return false;
  let known = knownZones.get(timeZone);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone });
      known = true;
    } catch {
      known = false;
    }
    if (knownZones.size < KNOWN_ZONES_MAX) knownZones.set(timeZone, known);
  }
  return known;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `20261127T150000Z`: an instant in the compact UTC form Google uses in instance ids. */
export function compactUtc(ms: number): string {
  const d = new Date(ms);
  return (
    `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`
  );
}

/** `2026-11-27` for a floating day value. */
export function isoDate(floating: number): string {
  const d = new Date(floating);
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** A `YYYY-MM-DD` date as a floating midnight, or undefined. */
export function parseIsoDate(value: string | null | undefined): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value ?? '');
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : undefined;
}
