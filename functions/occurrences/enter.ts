// The roll's entering slice: the occurrences of given roots that start in [from, window end), written where they differ — the rest of each series is left alone.
import type { Firestore } from '@google-cloud/firestore';
import type { Logger } from '../log.js';
import type { CalendarRef } from '../store/events.js';
import { encodeDocId, paths } from '../store/schema.js';
import { occurrenceDocument } from './document.js';
import { MAX_INSTANCES_PER_SERIES } from './expand.js';
import type { OccurrenceWindow } from './model.js';
import {
  addPlanned,
  commitOps,
  emptyStats,
  expandRoot,
  inRounds,
  planDifferences,
  planInTransaction,
  readSources,
  type Planned,
  type Reader,
  type RefreshStats,
  type Sources,
} from './store.js';

export interface EnteringOptions {
  window: OccurrenceWindow;
  /** Start of the entering slice: the end of the window last rolled to. */
  from: number;
  calendarTimeZone: string;
  /** Occurrence doc ids already stored in the slice, by eventId (may be deleted when not produced). */
  storedInSlice: ReadonlyMap<string, readonly string[]>;
  logger: Logger;
}

export interface EnteringStats extends RefreshStats {
  /** Roots whose expansion reached the per-series limit: only a whole recompute is exact for them. */
  truncated: string[];
}

/**
 * For each root (series master, single, or a series known only through its exceptions): the
 * occurrences of `window` that start at or after `from`, compared with what is stored under their
 * ids, inside one transaction per chunk (a concurrent sync's newer writes are never overwritten
 * with older state). Occurrences before `from` were written by earlier rolls and syncs and are not
 * read. Exact as long as the stored view was right for the window ending at `from`.
 */
export async function writeEnteringSlice(
  db: Firestore,
  cal: CalendarRef,
  roots: Iterable<string>,
  o: EnteringOptions,
): Promise<EnteringStats> {
  const stats: EnteringStats = { ...emptyStats(), truncated: [] };
  await inRounds([...roots], async (chunk) => {
    const planned = await planInTransaction(db, (reader) =>
      planEntering(db, cal, chunk, reader, o),
    );
    await commitOps(db, planned.ops);
    addPlanned(stats, chunk.length, planned, 1);
    stats.truncated.push(...planned.truncated);
    return planned.redirects;
  });
  return stats;
}

interface PlannedSlice extends Planned {
  /** Roots whose expansion reached the per-series limit. */
  truncated: string[];
}

/** One chunk: read its sources and the slice's documents by id, and plan the differences. */
async function planEntering(
  db: Firestore,
  cal: CalendarRef,
  chunk: readonly string[],
  reader: Reader,
  o: EnteringOptions,
): Promise<PlannedSlice> {
  const sources = await readSources(db, cal, chunk, reader);
  const { wanted, truncated, skipped } = enteringOf(cal, chunk, sources, o);
  const occurrences = db.collection(paths.occurrences(cal.uid, cal.calendarId));
  const ids = new Set(wanted.keys());
  for (const id of chunk) {
    if (skipped.has(id)) continue;
    for (const docId of o.storedInSlice.get(id) ?? []) ids.add(docId);
  }
  const snaps = await reader.getAll([...ids].map((id) => occurrences.doc(id)));
  const out: PlannedSlice = {
    ops: [],
    redirects: sources.redirects,
    truncated,
    writes: 0,
    deletes: 0,
    unchanged: 0,
    reads: sources.reads + snaps.length,
  };
  // Stored in the slice for one of these roots and no longer produced: deleted.
  planDifferences(occurrences, wanted, snaps, out);
  return out;
}

/** The wanted documents of the slice by doc id, and the roots that hit the expansion limit. */
function enteringOf(
  cal: CalendarRef,
  chunk: readonly string[],
  sources: Sources,
  o: EnteringOptions,
): {
  wanted: Map<string, Record<string, unknown>>;
  truncated: string[];
  /** Roots whose stored documents are left alone (truncated, or not expandable). */
  skipped: Set<string>;
} {
  const wanted = new Map<string, Record<string, unknown>>();
  const truncated: string[] = [];
  const skipped = new Set<string>();
  for (const id of chunk) {
    const all = expandRoot(cal, id, sources, {
      window: o.window,
      timeZone: o.calendarTimeZone,
      logger: o.logger,
    });
    if (!all) {
      skipped.add(id);
      continue;
    }
    if (all.length >= MAX_INSTANCES_PER_SERIES) {
      truncated.push(id);
      skipped.add(id);
      continue;
    }
    for (const occ of all) {
      if (occ.startAt >= o.from) wanted.set(encodeDocId(occ.occurrenceId), occurrenceDocument(occ));
    }
  }
  return { wanted, truncated, skipped };
}
