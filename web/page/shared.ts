// What the page and its server share (the feed's items, the config, the buttons' answers) and what the page offers the console.

/** A button press: the change the page asked the Calendar API for. */
export interface ActionItem {
  kind: 'action';
  at: number;
  action: ActionName;
  eventId: string;
  summary: string;
  /** What happened, in words ("events.insert", "events.delete on one instance"). */
  call: string;
  ms: number;
}

/** Google's push reached the webhook, which published it to Pub/Sub. */
export interface NotificationItem {
  kind: 'notification';
  at: number;
  state: string;
  messageNumber: number | null;
  publishMs: number | null;
}

/** The sync worker fetched a delta (or a full list) and wrote it. */
export interface DeltaItem {
  kind: 'delta';
  at: number;
  full: boolean;
  pages: number;
  items: number;
  writes: number;
  deletes: number;
  occurrenceWrites: number;
  occurrenceDeletes: number;
  durationMs: number;
}

/** A warning or error a function logged. */
export interface ProblemItem {
  kind: 'problem';
  at: number;
  target: string;
  severity: string;
  message: string;
}

export type FeedItem = ActionItem | NotificationItem | DeltaItem | ProblemItem;

export const ACTIONS = ['add', 'move', 'cancel-instance', 'delete'] as const;
export type ActionName = (typeof ACTIONS)[number];

/** What GET /config.json tells the page: where Firestore is and whom to read as. */
export interface PageConfig {
  projectId: string;
  /** host and port of the Firestore emulator, as the browser reaches it. */
  firestoreHost: string;
  firestorePort: number;
  uid: string;
}

/** The answer to POST /api/<action>. */
export type ActionAnswer = { ok: true; item: ActionItem } | { ok: false; error: string };

/** The outcome of a read attempted with the page's own credentials. */
export interface ReadAttempt {
  ok: boolean;
  /** Firestore's error code when refused (`permission-denied` for another user's data). */
  code?: string;
  documents?: number;
}

/** `window.calsync`, for the console and the browser test: read any path as the page's user. */
export interface PageHandle {
  uid: string;
  tryRead(path: string): Promise<ReadAttempt>;
}
