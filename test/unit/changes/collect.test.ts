// ChangeSet: created / updated / deleted from planned ops, merged per event across pages, tombstones and sweeps.
import { describe, expect, it, vi } from 'vitest';
import { announceChanges } from '../../../functions/changes/announce.js';
import { ChangeSet, decodeDocId } from '../../../functions/changes/collect.js';
import { orderingKey } from '../../../functions/changes/publisher.js';
import type { GoogleEvent } from '../../../functions/calendar/api.js';
import { createLogger } from '../../../functions/log.js';
import type { EventOp, StoredEventState } from '../../../functions/store/events.js';
import { encodeDocId } from '../../../functions/store/schema.js';

const state = (status = 'confirmed'): StoredEventState => ({
  etag: '"1"',
  updated: '2026-01-01T00:00:00.000Z',
  status,
  startAt: 0,
  endAt: 0,
});
const ev = (id: string, over: Partial<GoogleEvent> = {}): GoogleEvent => ({
  id,
  status: 'confirmed',
  updated: '2026-02-01T00:00:00.000Z',
  ...over,
});
const set = (event: GoogleEvent): EventOp => ({
  type: 'set',
  docId: encodeDocId(event.id!),
  event,
  startAt: 0,
  endAt: 0,
});
const del = (id: string): EventOp => ({ type: 'delete', docId: encodeDocId(id) });

describe('ChangeSet', () => {
  it('new → created, stored → updated, deleted → deleted (with the deletion’s updated)', () => {
    const c = new ChangeSet();
    const gone = ev('gone', { status: 'cancelled', updated: '2026-02-02T00:00:00.000Z' });
    c.recordPage(
      [ev('new'), ev('old'), gone],
      [set(ev('new')), set(ev('old')), del('gone')],
      new Map([
        ['old', state()],
        ['gone', state()],
      ]),
      encodeDocId,
    );
    expect(c.messages('u1', 'cal@example.com', 7)).toEqual([
      {
        v: 1,
        uid: 'u1',
        calendarId: 'cal@example.com',
        eventId: 'new',
        change: 'created',
        updated: '2026-02-01T00:00:00.000Z',
        fence: 7,
      },
      {
        v: 1,
        uid: 'u1',
        calendarId: 'cal@example.com',
        eventId: 'old',
        change: 'updated',
        updated: '2026-02-01T00:00:00.000Z',
        fence: 7,
      },
      {
        v: 1,
        uid: 'u1',
        calendarId: 'cal@example.com',
        eventId: 'gone',
        change: 'deleted',
        updated: '2026-02-02T00:00:00.000Z',
        fence: 7,
      },
    ]);
  });

  it('a tombstone announces its instance as deleted, whether it was modified before or not', () => {
    const c = new ChangeSet();
    const t1 = ev('m_20260105T100000Z', { status: 'cancelled', recurringEventId: 'm' });
    const t2 = ev('m_20260112T100000Z', { status: 'cancelled', recurringEventId: 'm' });
    c.recordPage(
      [t1, t2],
      [set(t1), set(t2)],
      new Map([['m_20260105T100000Z', state()]]),
      encodeDocId,
    );
    expect(c.messages('u', 'c', 7).map((m) => [m.eventId, m.change])).toEqual([
      ['m_20260105T100000Z', 'deleted'],
      ['m_20260112T100000Z', 'deleted'],
    ]);
  });

  it('merges one event across pages: created then updated = created; created then deleted = nothing', () => {
    const c = new ChangeSet();
    c.recordPage([ev('a'), ev('b')], [set(ev('a')), set(ev('b'))], new Map(), encodeDocId);
    c.recordPage(
      [ev('a', { updated: '2026-03-01T00:00:00.000Z' }), ev('b', { status: 'cancelled' })],
      [set(ev('a', { updated: '2026-03-01T00:00:00.000Z' })), del('b')],
      new Map([
        ['a', state()],
        ['b', state()],
      ]),
      encodeDocId,
    );
    expect(c.messages('u', 'c', 7).map((m) => [m.eventId, m.change, m.updated])).toEqual([
      ['a', 'created', '2026-03-01T00:00:00.000Z'],
    ]);
  });

  it('cascade and sweep deletions by document id, decoded back to event ids', () => {
    const c = new ChangeSet();
    c.recordDeleted(['m_20260105T100000Z', encodeDocId('odd/id')]);
    expect(c.messages('u', 'c', 7).map((m) => [m.eventId, m.change, m.updated])).toEqual([
      ['m_20260105T100000Z', 'deleted', null],
      ['odd/id', 'deleted', null],
    ]);
    expect(decodeDocId(encodeDocId('__x__'))).toBe('__x__');
  });

  it('orders per calendar', () => {
    expect(orderingKey({ uid: 'u1', calendarId: 'a@example.com' })).toBe('u1/a@example.com');
  });
});

describe('announceChanges', () => {
  const logger = createLogger({ write: () => undefined });
  it('publishes nothing without a publisher or without changes', async () => {
    const publish = vi.fn(async () => undefined);
    expect(
      await announceChanges(
        undefined,
        new ChangeSet(),
        { uid: 'u', calendarId: 'c', fence: 7 },
        logger,
      ),
    ).toEqual({ count: 0, ok: true });
    expect(
      await announceChanges(
        { publish },
        new ChangeSet(),
        { uid: 'u', calendarId: 'c', fence: 7 },
        logger,
      ),
    ).toEqual({ count: 0, ok: true });
    expect(publish).not.toHaveBeenCalled();
  });
  it('logs a failed publish instead of failing the committed sync', async () => {
    const lines: string[] = [];
    const c = new ChangeSet();
    c.recordDeleted(['x']);
    const n = await announceChanges(
      { publish: async () => Promise.reject(new Error('unavailable')) },
      c,
      { uid: 'u', calendarId: 'c', fence: 7 },
      createLogger({ write: (l) => lines.push(l) }),
    );
    expect(n).toEqual({ count: 0, ok: false });
    expect(lines.join('\n')).toContain('change feed publish failed');
  });
});

describe('ChangeSet without a change feed (count-only)', () => {
  /** A first sync's pages: an event listed twice, one cancelled instance, one created then deleted. */
  function firstSync(c: ChangeSet): void {
    const tomb = ev('s_20260101', {
      status: 'cancelled',
      recurringEventId: 's',
      originalStartTime: { dateTime: '2026-01-01T00:00:00Z' },
    });
    c.recordPage(
      [ev('a'), ev('b'), tomb],
      [set(ev('a')), set(ev('b')), set(tomb)],
      new Map(),
      encodeDocId,
    );
    // Page 2 lists `a` again (read back: this run wrote it) and deletes `b` (this run wrote it).
    c.recordPage(
      [ev('a'), ev('b', { status: 'cancelled' }), ev('c')],
      [set(ev('a')), del('b'), set(ev('c'))],
      new Map([
        ['a', state()],
        ['b', state()],
      ]),
      encodeDocId,
    );
  }

  it('keeps no entries, and tallies what the retained set tallies', () => {
    const retained = new ChangeSet();
    const counted = new ChangeSet({ retain: false });
    firstSync(retained);
    firstSync(counted);
    expect(counted.size).toBe(0);
    expect(counted.messages('u1', 'c', 1)).toEqual([]);
    expect(retained.tally()).toEqual({ live: 2, tombstones: 1 });
    expect(counted.tally()).toEqual(retained.tally());
  });

  it('cannot tell the counts after a deletion without an item (cascade): undefined', () => {
    const counted = new ChangeSet({ retain: false });
    firstSync(counted);
    counted.recordDeleted(['s_20260101']);
    expect(counted.tally()).toBeUndefined();
  });
});
