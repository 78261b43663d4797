// infra/firestore.indexes.json is valid, covers the queries calsync makes, and Terraform deploys it.
import { describe, expect, it } from 'vitest';
import { exempted, read, served, type IndexFile } from './load.js';

const COLLECTIONS = [
  'subscriptions',
  'credentials',
  'calendarListWatches',
  'calendars',
  'events',
  'occurrences',
  'retiredChannels',
  'accounts',
];

function load(): IndexFile {
  return JSON.parse(read('infra/firestore.indexes.json')) as IndexFile;
}

describe('firestore.indexes.json', () => {
  it("serves disconnect's check that no other user holds the same Google account (collection group on accountId)", () => {
    const o = load().fieldOverrides.find(
      (x) => x.collectionGroup === 'accounts' && x.fieldPath === 'accountId',
    );
    expect(o?.indexes).toContainEqual({ order: 'ASCENDING', queryScope: 'COLLECTION_GROUP' });
  });

  it('expires retired-channel records through a TTL policy on expireAt', () => {
    const ttl = load().fieldOverrides.find(
      (o) => o.collectionGroup === 'retiredChannels' && o.fieldPath === 'expireAt',
    );
    expect(ttl).toMatchObject({ ttl: true });
  });

  it('is JSON in the Firebase CLI shape', () => {
    const file = load();
    expect(Object.keys(file).sort()).toEqual(['fieldOverrides', 'indexes']);
    expect(Array.isArray(file.indexes)).toBe(true);
    expect(Array.isArray(file.fieldOverrides)).toBe(true);
  });

  it('has only well-formed composite indexes on calsync collections, without duplicates', () => {
    const file = load();
    const seen = new Set<string>();
    for (const idx of file.indexes) {
      const label = JSON.stringify(idx);
      expect(COLLECTIONS, label).toContain(idx.collectionGroup);
      expect(['COLLECTION', 'COLLECTION_GROUP'], label).toContain(idx.queryScope);
      // Firestore rejects a one-field composite index (that is a single-field index's job).
      expect(idx.fields.length, label).toBeGreaterThanOrEqual(2);
      for (const f of idx.fields) {
        expect(f.fieldPath, label).toMatch(/^[A-Za-z_][\w.]*$/);
        expect(Number(f.order !== undefined) + Number(f.arrayConfig !== undefined), label).toBe(1);
        if (f.order !== undefined) expect(['ASCENDING', 'DESCENDING']).toContain(f.order);
        if (f.arrayConfig !== undefined) expect(f.arrayConfig).toBe('CONTAINS');
      }
      const key = `${idx.collectionGroup}|${idx.queryScope}|${idx.fields.map((f) => `${f.fieldPath}:${f.order ?? f.arrayConfig}`).join(',')}`;
      expect(seen.has(key), `duplicate ${key}`).toBe(false);
      seen.add(key);
    }
  });

  it('has well-formed field overrides that do not exempt a field a composite index uses', () => {
    const file = load();
    for (const o of file.fieldOverrides) {
      expect(COLLECTIONS).toContain(o.collectionGroup);
      expect(o.fieldPath).toMatch(/^[A-Za-z_][\w.]*$/);
      expect(o.indexes !== undefined || o.ttl !== undefined, JSON.stringify(o)).toBe(true);
      if (o.indexes !== undefined && o.indexes.length === 0) {
        const used = file.indexes.some(
          (idx) =>
            idx.collectionGroup === o.collectionGroup &&
            idx.fields.some((f) => f.fieldPath === o.fieldPath),
        );
        expect(used, `${o.collectionGroup}.${o.fieldPath} is exempted but indexed`).toBe(false);
      }
    }
  });

  it('serves the renewal query: active subscriptions whose channel expires before X, by expiry', () => {
    const file = load();
    expect(served(file, 'subscriptions', ['status'], ['channelExpiresAt'])).toBe(true);
    expect(exempted(file, 'subscriptions', 'channelExpiresAt')).toBe(false); // without the status filter
  });

  it('serves the safety net: active subscriptions not synced since X, by lastSyncedAt', () => {
    const file = load();
    expect(served(file, 'subscriptions', ['status'], ['lastSyncedAt'])).toBe(true);
    expect(served(file, 'subscriptions', ['status', 'mode'], ['lastSyncedAt'])).toBe(true);
    expect(exempted(file, 'subscriptions', 'lastSyncedAt')).toBe(false);
  });

  it('serves downstream range reads: occurrences and live events by startAt, series exceptions', () => {
    const file = load();
    // Single-field ranges (startAt, recurringEventId ==) use the automatic indexes.
    expect(exempted(file, 'occurrences', 'startAt')).toBe(false);
    expect(exempted(file, 'events', 'startAt')).toBe(false);
    expect(exempted(file, 'events', 'recurringEventId')).toBe(false);
    // Overlap window (startAt < end && endAt > start) and live events (status != cancelled) in a range.
    expect(served(file, 'occurrences', [], ['startAt', 'endAt'])).toBe(true);
    expect(served(file, 'events', [], ['startAt', 'status'])).toBe(true);
    // Live exceptions of one series: recurringEventId == X && status != cancelled.
    expect(served(file, 'events', ['recurringEventId'], ['status'])).toBe(true);
  });

  it('indexes only subscription fields the server documents have', () => {
    const schema = read('functions/store/schema.ts');
    const body = /interface SubscriptionDoc \{([\s\S]*?)\n\}/.exec(schema)?.[1] ?? '';
    expect(body).not.toBe('');
    const file = load();
    const paths = [
      ...file.indexes
        .filter((i) => i.collectionGroup === 'subscriptions')
        .flatMap((i) => i.fields.map((f) => f.fieldPath)),
      ...file.fieldOverrides
        .filter((o) => o.collectionGroup === 'subscriptions')
        .map((o) => o.fieldPath),
    ];
    for (const p of new Set(paths)) {
      const top = p.split('.')[0]!;
      expect(body, `SubscriptionDoc has no ${top}`).toMatch(new RegExp(`\\n\\s+${top}\\??:`));
    }
  });

  it('is what Terraform deploys (one source for the emulator tooling and production)', () => {
    const tf = read('infra/firestore.tf');
    expect(tf).toContain('jsondecode(file("${path.module}/firestore.indexes.json"))');
    expect(tf).toMatch(/resource "google_firestore_index" "composite"/);
    expect(tf).toMatch(/resource "google_firestore_field" "overrides"/);
  });
});
