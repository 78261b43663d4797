// The roll's entering slice: the occurrences of given roots that start in [from, window end), written where they differ — the rest of each series is left alone.
import type { DocumentSnapshot, Firestore } from '@google-cloud/firestore';
import type { GoogleEvent } from '../calendar/api.js';
import type { Logger } from '../log.js';
import type { CalendarRef } from '../store/events.js';
import { encodeDocId, paths } from '../store/schema.js';
import { occurrenceDocument, sameDocument } from './document.js';
import { MAX_INSTANCES_PER_SERIES, occurrencesOf } from './expand.js';
import type { OccurrenceWindow } from './model.js';
import {
  addPlanned,
  commitOps,
  emptyStats,
  inRounds,
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
  const have = new Map<string, DocumentSnapshot>(snaps.map((s) => [s.id, s]));
  const out: PlannedSlice = {
    ops: [],
    redirects: sources.redirects,
    truncated,
    writes: 0,
    deletes: 0,
    unchanged: 0,
    reads: sources.reads + snaps.length,
  };
  for (const [docId, data] of wanted) {
    if (sameDocument(have.get(docId)?.data(), data)) out.unchanged++;
    else {
      out.ops.push({ type: 'set', ref: occurrences.doc(docId), data });
      out.writes++;
    }
  }
  for (const [docId, snap] of have) {
    if (wanted.has(docId) || !snap.exists) continue;
    // Stored in the slice for one of these roots and no longer produced.
    out.ops.push({ type: 'delete', ref: snap.ref });
    out.deletes++;
  }
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
    let all;
    try {
      all = occurrencesOf(sources.rootById.get(id), childrenOf(sources, id), o.window, {
        calendarTimeZone: o.calendarTimeZone,
      });
    } catch (err) {
      // As the sync does: a series calsync cannot expand keeps its occurrences as they are.
      o.logger.warn('occurrences not recomputed: the series cannot be expanded', {
        calendarId: cal.calendarId,
        eventId: id,
        error: err,
      });
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

const childrenOf = (s: Sources, id: string): GoogleEvent[] => s.childrenOf.get(id) ?? [];
