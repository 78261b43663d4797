// rootIdsOf: which series an item touches — never a master derived from an instance id alone (the `_R` split).
import { describe, expect, it } from 'vitest';
import { rootIdsOf } from '../../../functions/occurrences/store.js';

describe('rootIdsOf', () => {
  it('an exception or tombstone belongs to its recurringEventId (a `_R` master too)', () => {
    expect(
      rootIdsOf([
        {
          id: 'abc_20260310T090000Z',
          recurringEventId: 'abc_R20260308T090000',
          status: 'cancelled',
        },
      ]),
    ).toEqual(['abc_R20260308T090000']);
  });

  it('an id-only deletion names its series through what was stored for it', () => {
    const stored = new Map([['abc_20260310T090000Z', 'abc_R20260308T090000']]);
    const roots = rootIdsOf([{ id: 'abc_20260310T090000Z', status: 'cancelled' }], (id) =>
      stored.get(id),
    );
    expect(roots).toContain('abc_R20260308T090000');
    // Without a stored parent the `<base>` guess is the only lead (a harmless extra recompute).
    expect(rootIdsOf([{ id: 'abc_20260310T090000Z', status: 'cancelled' }])).toContain('abc');
  });

  it('a single or a master is its own root', () => {
    expect(
      rootIdsOf([{ id: 'single1' }, { id: 'master1', recurrence: ['RRULE:FREQ=DAILY'] }]),
    ).toEqual(['single1', 'master1']);
  });
});
