// Vitest global setup for integration and e2e tiers: starts both emulators once, stops them at the end.
import type { TestProject } from 'vitest/node';
import { missingEmulatorParts, startEmulator, type RunningEmulator } from './emulators.js';

interface Shared {
  users: number;
  emulators: RunningEmulator[];
  firestoreHost?: string;
  pubsubHost?: string;
  missing?: string;
}

// Both tiers' setups run in vitest's main process; share one pair of emulators between them.
const KEY = Symbol.for('calsync.harness.emulators');
const registry = globalThis as unknown as Record<symbol, Shared | undefined>;

declare module 'vitest' {
  export interface ProvidedContext {
    firestoreHost: string;
    pubsubHost: string;
    emulatorsMissing: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Emulator clients need no credentials; stop google-auth probing a metadata server that is not there.
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  let shared = registry[KEY];
  if (!shared) {
    shared = { users: 0, emulators: [] };
    registry[KEY] = shared;
    const missing = missingEmulatorParts();
    if (missing.length > 0) {
      const line = `EMULATORS MISSING: ${missing.join(', ')} — suites that need the Firestore/Pub/Sub emulators are skipped (install: gcloud components install cloud-firestore-emulator pubsub-emulator)`;
      if (process.env.REQUIRE_EMULATORS === '1')
        throw new Error(`${line}; REQUIRE_EMULATORS=1 makes this a failure`);
      console.error(`\n${'!'.repeat(100)}\n${line}\n${'!'.repeat(100)}\n`);
      shared.missing = missing.join(', ');
    } else {
      const [firestore, pubsub] = await Promise.all([
        startEmulator('firestore'),
        startEmulator('pubsub'),
      ]);
      shared.emulators.push(firestore, pubsub);
      shared.firestoreHost = firestore.host;
      shared.pubsubHost = pubsub.host;
    }
  }
  shared.users += 1;
  if (shared.firestoreHost) process.env.FIRESTORE_EMULATOR_HOST = shared.firestoreHost;
  if (shared.pubsubHost) process.env.PUBSUB_EMULATOR_HOST = shared.pubsubHost;
  if (shared.missing) process.env.CALSYNC_EMULATORS_MISSING = shared.missing;
  project.provide('firestoreHost', shared.firestoreHost ?? '');
  project.provide('pubsubHost', shared.pubsubHost ?? '');
  project.provide('emulatorsMissing', shared.missing ?? '');

  return async () => {
    const s = registry[KEY];
    if (!s) return;
    s.users -= 1;
    if (s.users > 0) return;
    registry[KEY] = undefined;
    await Promise.all(s.emulators.map((e) => e.stop()));
  };
}
