// planPage: which item becomes an upsert, a tombstone, a deletion, a cascade, or nothing — in any order.
import { describe, expect, it } from 'vitest';
import type { GoogleEvent } from '../../../functions/calendar/api.js';
import type { StoredEventState } from '../../../functions/store/events.js';
import { compareVersions, isInstanceId, planPage } from '../../../functions/sync/apply.js';
import { cancelledInstance } from '../../fixtures/events.js';

const M = 'master1';
const live = (id: string, etag: number, extra: Partial<GoogleEvent> = {}): GoogleEvent => ({
  id,
  etag: `"${etag}"`,
  status: 'confirmed',
  updated: new Date(Date.UTC(2025, 0, 1) + etag * 1000).toISOString(),
  start: { dateTime: '2025-03-24T07:30:00-05:00' },
  end: { dateTime: '2025-03-24T08:30:00-05:00' },
  ...extra,
});
const stored = (ev: GoogleEvent): StoredEventState => ({
  etag: ev.etag ?? undefined,
  updated: ev.updated ?? undefined,
  status: ev.status ?? undefined,
  startAt: Date.parse('2025-03-24T12:30:00Z'),
  endAt: Date.parse('2025-03-24T13:30:00Z'),
});
const ctx = () => ({ timeZone: 'America/Chicago', cancelledMasters: new Set<string>() });
const kinds = (ops: { type: string; docId: string }[]) => ops.map((o) => `${o.type}:${o.docId}`);

describe('compareVersions', () => {
  it('orders by updated, then by numeric etag', () => {
    expect(
      compareVersions(
        { updated: '2025-01-02T00:00:00.000Z' },
        { updated: '2025-01-01T00:00:00.000Z' },
      ),
    ).toBe(1);
    expect(
      compareVersions(
        { updated: '2025-01-01T00:00:00.000Z' },
        { updated: '2025-01-02T00:00:00.000Z' },
      ),
    ).toBe(-1);
    expect(compareVersions({ etag: '"5"' }, { etag: '"5"' })).toBe(0);
    expect(compareVersions({ etag: '"10"' }, { etag: '"9"' })).toBe(1);
    expect(compareVersions({ etag: '"9"' }, { etag: '"10"' })).toBe(-1);
    const same = '2025-01-01T00:00:00.000Z';
    expect(compareVersions({ updated: same, etag: '"3"' }, { updated: same, etag: '"4"' })).toBe(
      -1,
    );
    expect(compareVersions({ etag: 'abc' }, { etag: 'def' })).toBe(1); // undecidable → write
    expect(compareVersions({}, {})).toBe(1);
  });
});

describe('isInstanceId', () => {
  it.each([
    ['abc_20250328T150000Z', true],
    ['abc_20250328', true],
    ['abc_R20250326T123000', false],
    ['abc', false],
  ])('%s → %s', (id, expected) => expect(isInstanceId(id)).toBe(expected));
});

describe('planPage', () => {
  it('upserts new and changed events with startAt/endAt, skips unchanged and older copies', () => {
    const a = live('a', 5);
    const b = live('b', 6);
    const c = live('c', 7);
    const have = new Map([
      ['b', stored(b)], // same version
      ['c', stored(live('c', 9))], // newer stored
    ]);
    const plan = planPage([a, b, c], have, ctx());
    expect(kinds(plan.ops)).toEqual(['set:a']);
    expect(plan.skipped).toBe(2);
    const op = plan.ops[0]!;
    expect(op.type === 'set' && new Date(op.startAt!).toISOString()).toBe(
      '2025-03-24T12:30:00.000Z',
    );
  });

  it('rewrites a same-etag copy whose computed times differ (time zone changed)', () => {
    const ev = live('allday', 5, { start: { date: '2025-06-01' }, end: { date: '2025-06-02' } });
    const plan = planPage([ev], new Map([['allday', stored(ev)]]), ctx());
    expect(kinds(plan.ops)).toEqual(['set:allday']);
  });

  it('deletes a cancelled single event; nothing to do when it was never stored', () => {
    const have = new Map([['x', stored(live('x', 1))]]);
    const plan = planPage(
      [
        { id: 'x', status: 'cancelled', etag: '"2"' },
        { id: 'y_20250101T000000Z', status: 'cancelled' },
      ],
      have,
      ctx(),
    );
    expect(kinds(plan.ops)).toEqual(['delete:x']);
    expect(plan.cascadeMasters).toEqual(['x']); // an id-only cancellation may be a master
  });

  it('keeps a cancelled exception of a live series as a tombstone', () => {
    const cancelled = cancelledInstance(
      M,
      { dateTime: '2025-03-28T10:00:00-05:00' },
      { etag: '"3"' },
    );
    const plan = planPage(
      [live(M, 2, { recurrence: ['RRULE:FREQ=DAILY'] }), cancelled],
      new Map(),
      ctx(),
    );
    expect(kinds(plan.ops)).toEqual([`set:${M}`, `set:${M}_20250328T150000Z`]);
    expect(plan.cascadeMasters).toEqual([]);
  });

  it('a cancelled master cascades; its tombstones planned before or after it do not survive', () => {
    const c = ctx();
    const tomb = (d: string) =>
      cancelledInstance(M, {
        dateTime: `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}T10:00:00-05:00`,
      });
    const plan = planPage(
      [tomb('20250327'), { id: M, status: 'cancelled' }, tomb('20250328')],
      new Map([[M, stored(live(M, 1))]]),
      c,
    );
    // The first tombstone is written, then removed by the cascade query run after the page.
    expect(kinds(plan.ops)).toEqual([`set:${M}_20250327T150000Z`, `delete:${M}`]);
    expect(plan.cascadeMasters).toEqual([M]);
    expect(c.cancelledMasters.has(M)).toBe(true);
    // A later page of the same sync still knows the master is gone.
    const later = planPage([tomb('20250329')], new Map(), c);
    expect(later.ops).toEqual([]);
  });

  it('an id-only cancellation with an instance-shaped id is a plain deletion', () => {
    const id = `${M}_20250328T150000Z`;
    const plan = planPage(
      [{ id, status: 'cancelled', etag: '"9"' }],
      new Map([[id, stored(live(id, 4))]]),
      ctx(),
    );
    expect(kinds(plan.ops)).toEqual([`delete:${id}`]);
    expect(plan.cascadeMasters).toEqual([]);
  });

  it('an exception may arrive before its master', () => {
    const exc = live(`${M}_20250324T123000Z`, 3, {
      recurringEventId: M,
      originalStartTime: { dateTime: '2025-03-24T07:30:00-05:00' },
    });
    const plan = planPage(
      [exc, live(M, 3, { recurrence: ['RRULE:FREQ=DAILY'] })],
      new Map(),
      ctx(),
    );
    expect(kinds(plan.ops)).toEqual([`set:${exc.id}`, `set:${M}`]);
  });

  it('does not let a stale cancellation delete a newer stored copy', () => {
    const plan = planPage(
      [{ id: 'r', status: 'cancelled', etag: '"3"' }],
      new Map([['r', stored(live('r', 8))]]),
      ctx(),
    );
    expect(plan.ops).toEqual([]);
    expect(plan.skipped).toBe(1);
  });

  it('is idempotent: applying a page to its own result changes nothing', () => {
    const items = [live('a', 1), live('b', 2)];
    const first = planPage(items, new Map(), ctx());
    const after = new Map(items.map((i) => [i.id!, stored(i)]));
    const second = planPage(items, after, ctx());
    expect(first.ops).toHaveLength(2);
    expect(second.ops).toHaveLength(0);
  });

  it('a repeated id in one page: the newest copy wins', () => {
    const plan = planPage([live('d', 5), live('d', 3)], new Map(), ctx());
    expect(plan.ops).toHaveLength(1);
    expect(plan.ops[0]!.type === 'set' && plan.ops[0]!.event.etag).toBe('"5"');
  });

  it('ignores items without an id', () => {
    expect(planPage([{ status: 'confirmed' }], new Map(), ctx()).invalid).toBe(1);
  });

  it('encodes awkward ids as document ids', () => {
    const plan = planPage([live('a/b', 1)], new Map(), ctx());
    expect(plan.ops[0]!.docId).toMatch(/^~/);
  });
});
