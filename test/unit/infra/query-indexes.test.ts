// Every query built by functions/store/subscriptions-query.ts has its index in infra/firestore.indexes.json.
// (The Firestore emulator never asks for composite indexes, so this is checked from the query protos.)
import { Firestore, type Query } from '@google-cloud/firestore';
import { afterAll, describe, expect, it } from 'vitest';
import * as queries from '../../../functions/store/subscriptions-query.js';
import { exempted, read, served, type IndexFile } from './load.js';

interface FieldRef {
  fieldPath: string;
}
interface FilterProto {
  fieldFilter?: { field: FieldRef; op: string };
  unaryFilter?: { field: FieldRef; op: string };
  compositeFilter?: { op: string; filters: FilterProto[] };
}
interface StructuredQuery {
  from?: { collectionId: string; allDescendants?: boolean }[];
  where?: FilterProto;
  orderBy?: { field: FieldRef; direction?: string }[];
}
/** `Query.toProto()` exists at run time (bundles use it) but is not in the public typings. */
interface WithProto {
  toProto(): { structuredQuery: StructuredQuery };
}

const EQUALITY = new Set([
  'EQUAL',
  'IS_NULL',
  'IS_NAN',
  'IN',
  'ARRAY_CONTAINS',
  'ARRAY_CONTAINS_ANY',
]);

function leafFilters(f: FilterProto | undefined): { field: string; op: string }[] {
  if (!f) return [];
  if (f.compositeFilter) return f.compositeFilter.filters.flatMap(leafFilters);
  const leaf = f.fieldFilter ?? f.unaryFilter;
  return leaf ? [{ field: leaf.field.fieldPath, op: leaf.op }] : [];
}

/** What a query needs: equality fields, then the ordered / range fields in order. */
function requirement(q: Query) {
  const sq = (q as unknown as WithProto).toProto().structuredQuery;
  const filters = leafFilters(sq.where);
  const equalities = [...new Set(filters.filter((f) => EQUALITY.has(f.op)).map((f) => f.field))];
  const ordered = (sq.orderBy ?? []).map((o) => o.field.fieldPath).filter((p) => p !== '__name__');
  for (const f of filters) {
    if (!EQUALITY.has(f.op) && !ordered.includes(f.field)) ordered.push(f.field);
  }
  const from = sq.from?.[0];
  return {
    collection: from?.collectionId ?? '',
    groupQuery: from?.allDescendants === true,
    equalities: equalities.filter((e) => !ordered.includes(e)),
    ordered,
  };
}

const db = new Firestore({ projectId: 'demo-index-check' }); // builds queries; never connects
afterAll(() => db.terminate());

const builders = Object.entries(queries).filter(
  ([name, fn]) => typeof fn === 'function' && !['pagesOf', 'countAfter'].includes(name),
) as [string, (db: Firestore, arg: number) => Query][];

describe('indexes for the subscription queries', () => {
  const file = JSON.parse(read('infra/firestore.indexes.json')) as IndexFile;

  it('finds the query builders', () => {
    expect(builders.length).toBeGreaterThanOrEqual(5);
  });

  for (const [name, build] of builders) {
    it(`${name}: served by an automatic or a declared index`, () => {
      const need = requirement(build(db, Date.now()));
      expect(need.groupQuery, 'collection-group queries need an explicit override').toBe(false);
      if (need.ordered.length === 0) {
        // Equality filters only: Firestore merges the automatic single-field indexes.
        for (const e of need.equalities) expect(exempted(file, need.collection, e), e).toBe(false);
        return;
      }
      if (need.equalities.length === 0 && need.ordered.length === 1) {
        expect(exempted(file, need.collection, need.ordered[0]!)).toBe(false);
        return;
      }
      expect(
        served(file, need.collection, need.equalities, need.ordered),
        `${need.collection}: ${need.equalities.join(' == , ')} == then ${need.ordered.join(', ')}`,
      ).toBe(true);
    });
  }
});
