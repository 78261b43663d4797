// Loads infra/firestore.rules into the Firestore emulator for one project, so browser clients are held to them.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RULES_FILE = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'infra',
  'firestore.rules',
);

/**
 * The emulator's own endpoint for a project's rules (what @firebase/rules-unit-testing calls).
 * Server SDKs are not affected: the emulator lets their "owner" credential through, as Google
 * lets service accounts through in production.
 */
export async function loadRules(firestoreHost: string, projectId: string): Promise<void> {
  const res = await fetch(
    `http://${firestoreHost}/emulator/v1/projects/${projectId}:securityRules`,
    {
      method: 'PUT',
      body: JSON.stringify({ rules: { files: [{ content: readFileSync(RULES_FILE, 'utf8') }] } }),
    },
  );
  if (!res.ok)
    throw new Error(`loading ${RULES_FILE} into the emulator failed: ${await res.text()}`);
}
