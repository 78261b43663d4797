// Per-test-file helpers: emulator availability, isolated project ids, Firestore reset, clients.
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';

/** Empty when the emulators run; otherwise what is missing (the suite should skip). */
export function emulatorsMissing(): string {
  return inject('emulatorsMissing');
}

/** Points this test process's clients at the shared emulators; returns false when they are absent. */
export function useEmulators(): boolean {
  const fs = inject('firestoreHost');
  const ps = inject('pubsubHost');
  if (!fs || !ps) return false;
  process.env.FIRESTORE_EMULATOR_HOST = fs;
  process.env.PUBSUB_EMULATOR_HOST = ps;
  return true;
}

/** A project id unique to one test file or test: Firestore and Pub/Sub state never leaks between them. */
export function uniqueProjectId(prefix = 'test'): string {
  return `demo-${prefix}-${randomBytes(4).toString('hex')}`.toLowerCase().slice(0, 30);
}

/** Deletes every document of a project through the emulator's reset endpoint. */
export async function resetFirestore(projectId: string): Promise<void> {
  const host = inject('firestoreHost');
  const res = await fetch(
    `http://${host}/emulator/v1/projects/${projectId}/databases/(default)/documents`,
    { method: 'DELETE' },
  );
  if (!res.ok)
    throw new Error(`Firestore emulator reset failed: ${res.status} ${await res.text()}`);
}
