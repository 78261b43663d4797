// The property world for one test file: a Firestore project on the emulators and the world of test/property, made before the file's tests and closed after them.
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, expect } from 'vitest';
import { uniqueProjectId, useEmulators } from '../../harness/env.js';
import { createPropertyWorld, type PropertyWorld } from '../../property/convergence.js';

/** Registers the set-up and tear-down; the getter answers the world inside a test. */
export function propertyWorldFixture(name: string): () => PropertyWorld {
  let db: Firestore | undefined;
  let world: PropertyWorld | undefined;
  beforeAll(async () => {
    expect(useEmulators()).toBe(true);
    const projectId = uniqueProjectId(name);
    db = new Firestore({ projectId, ignoreUndefinedProperties: true });
    await db.doc('warmup/connection').get();
    world = await createPropertyWorld(db, projectId);
  });
  afterAll(async () => {
    await world?.close();
    await db?.terminate();
  });
  return () => {
    if (!world) throw new Error('the property world is not set up (outside a test?)');
    return world;
  };
}
