// Occurrence documents: Timestamps for instants, and the comparison that decides whether to write.
import { Timestamp } from '@google-cloud/firestore';
import { describe, expect, it } from 'vitest';
import { occurrenceDocument, sameDocument } from '../../../functions/occurrences/document.js';
import type { Occurrence } from '../../../functions/occurrences/model.js';

const occ: Occurrence = {
  occurrenceId: 'm_20260105T150000Z',
  eventId: 'm',
  recurringEventId: 'm',
  sourceEventId: 'm',
  originalStartAt: Date.UTC(2026, 0, 5, 15),
  startAt: Date.UTC(2026, 0, 5, 15),
  endAt: Date.UTC(2026, 0, 5, 16),
  allDay: false,
  startDate: null,
  endDate: null,
  timeZone: 'America/New_York',
  summary: 'Weekly',
  location: null,
  status: 'confirmed',
  attendees: { accepted: 1, declined: 0, tentative: 0, needsAction: 2 },
  selfResponse: null,
  updated: '2026-01-01T00:00:00.000Z',
  htmlLink: null,
};

describe('occurrenceDocument / sameDocument', () => {
  it('stores instants as Timestamps and leaves the id out of the body', () => {
    const doc = occurrenceDocument(occ);
    expect(doc.startAt).toEqual(Timestamp.fromMillis(occ.startAt));
    expect(doc.originalStartAt).toEqual(Timestamp.fromMillis(occ.originalStartAt!));
    expect(doc).not.toHaveProperty('occurrenceId');
  });

  it('equal content in any key order is the same; any shown field differing is not', () => {
    const doc = occurrenceDocument(occ);
    const reordered = Object.fromEntries(Object.entries(doc).reverse());
    expect(sameDocument(reordered, doc)).toBe(true);
    expect(sameDocument(undefined, doc)).toBe(false);
    expect(sameDocument(occurrenceDocument({ ...occ, summary: 'x' }), doc)).toBe(false);
    expect(sameDocument(occurrenceDocument({ ...occ, endAt: occ.endAt + 1 }), doc)).toBe(false);
    expect(
      sameDocument(
        occurrenceDocument({ ...occ, attendees: { ...occ.attendees!, accepted: 2 } }),
        doc,
      ),
    ).toBe(false);
  });

  it("a master's bumped `updated` alone does not rewrite its instances", () => {
    const doc = occurrenceDocument(occ);
    expect(
      sameDocument(doc, occurrenceDocument({ ...occ, updated: '2026-02-01T00:00:00.000Z' })),
    ).toBe(true);
  });
});
