// Key rotation made visible: every stored credential by the key that sealed it, re-sealing those on the previous key (or the legacy associated data) with the current one.
import { FieldPath, type Firestore, type QueryDocumentSnapshot } from '@google-cloud/firestore';
import type { TokenKeys } from '../config.js';
import { CREDENTIAL_ACCOUNTS, CREDENTIALS, paths, type CredentialsDoc } from '../store/schema.js';
import { CredentialsProblem, loadRefreshToken } from './store.js';

export interface CredentialEntry {
  uid: string;
  /** null: a legacy credentials/{uid} document (before accounts). */
  accountId: string | null;
  email: string | null;
  keyId: string;
  sealVersion: 1 | 2;
  status: CredentialsDoc['status'];
}

export interface KeysReport {
  currentKeyId: string;
  previousKeyId: string | null;
  /** Credentials per key id that sealed them. */
  byKey: Record<string, number>;
  /** Sealed with CALSYNC_TOKEN_KEY_PREVIOUS (revoked ones aside): re-seal them before removing that key. */
  onPreviousKey: CredentialEntry[];
  /** Sealed with a key that is not configured at all (or marked unreadable): those users must reconnect. */
  unreadable: CredentialEntry[];
  /** Legacy associated data (v1, no uid/account binding) on the current key. */
  legacySeals: number;
  /** With `reseal`: how many were sealed again with the current key (v2), and which failed. */
  resealed: number;
  failed: { uid: string; accountId: string | null; reason: string }[];
}

const PAGE = 300;

/** Every credentials document, legacy and per account, page by page (no index needed). */
async function* allCredentials(db: Firestore): AsyncGenerator<QueryDocumentSnapshot> {
  for (const query of [db.collection(CREDENTIALS), db.collectionGroup(CREDENTIAL_ACCOUNTS)]) {
    let last: QueryDocumentSnapshot | undefined;
    for (;;) {
      let page = query.orderBy(FieldPath.documentId()).limit(PAGE);
      if (last) page = page.startAfter(last);
      const snap = await page.get();
      for (const d of snap.docs) {
        if ((d.data() as Partial<CredentialsDoc>).refreshTokenCiphertext) yield d;
      }
      if (snap.size < PAGE) break;
      last = snap.docs[snap.docs.length - 1];
    }
  }
}

function entryOf(d: QueryDocumentSnapshot): CredentialEntry {
  const c = d.data() as CredentialsDoc;
  const legacy = d.ref.parent.id === CREDENTIALS;
  return {
    uid: c.uid ?? (legacy ? d.id : (d.ref.parent.parent?.id ?? '')),
    accountId: legacy ? null : (c.accountId ?? d.id),
    email: c.email ?? null,
    keyId: c.keyId,
    sealVersion: c.sealVersion ?? 1,
    status: c.status,
  };
}

/**
 * Lists credentials by sealing key; with `reseal`, seals those on the previous key (and legacy
 * v1 seals) again with the current key — the same re-seal a sync does on its next read, done now
 * so the previous key can be removed without waiting for every user to sync.
 */
export async function keysReport(
  db: Firestore,
  keys: TokenKeys,
  o: { reseal: boolean; progress?: (line: string) => void },
): Promise<KeysReport> {
  const report: KeysReport = {
    currentKeyId: keys.current.id,
    previousKeyId: keys.previous?.id ?? null,
    byKey: {},
    onPreviousKey: [],
    unreadable: [],
    legacySeals: 0,
    resealed: 0,
    failed: [],
  };
  for await (const d of allCredentials(db)) {
    const e = entryOf(d);
    report.byKey[e.keyId] = (report.byKey[e.keyId] ?? 0) + 1;
    const known = e.keyId === keys.current.id || e.keyId === keys.previous?.id;
    // A revoked token is never used again: it does not hold the previous key back.
    if (e.status === 'revoked') continue;
    if (!known || e.status === 'unreadable') report.unreadable.push(e);
    else if (e.keyId === keys.previous?.id) report.onPreviousKey.push(e);
    else if (e.sealVersion === 1) report.legacySeals++;
    const stale = e.keyId === keys.previous?.id || (e.sealVersion === 1 && e.accountId !== null);
    if (o.reseal && known && stale) await resealOne(db, keys, e, report);
  }
  o.progress?.(
    `${Object.values(report.byKey).reduce((a, b) => a + b, 0)} credential(s); ${report.onPreviousKey.length} on the previous key; ${report.unreadable.length} unreadable`,
  );
  return report;
}

async function resealOne(db: Firestore, keys: TokenKeys, e: CredentialEntry, r: KeysReport) {
  try {
    // Loading re-seals with the current key (and v2 associated data) when needed.
    await loadRefreshToken(db, keys, { uid: e.uid, accountId: e.accountId });
    const path = e.accountId ? paths.account(e.uid, e.accountId) : paths.credentials(e.uid);
    const after = (await db.doc(path).get()).data() as CredentialsDoc | undefined;
    if (after?.keyId === keys.current.id) r.resealed++;
    else
      r.failed.push({ uid: e.uid, accountId: e.accountId, reason: 'changed meanwhile; run again' });
  } catch (err) {
    r.failed.push({
      uid: e.uid,
      accountId: e.accountId,
      reason: err instanceof CredentialsProblem ? err.message : String(err),
    });
  }
}
