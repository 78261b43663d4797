// The per-request context handed to API route handlers.
import type { IncomingHttpHeaders } from 'node:http';
import type { Query } from './http.js';
import type { RealismKnobs } from './realism.js';
import type { Store } from './store.js';
import type { TokenCodec } from './tokens.js';
import type { UserState } from './types.js';

export interface SimSettings {
  seed: number;
  /** Public base URL of the simulator (for resourceUri). */
  baseUrl: string;
  /** The realism knobs in force (mutable: POST /_sim/realism changes them at run time). */
  realism: RealismKnobs;
}

export interface ApiContext {
  store: Store;
  tokens: TokenCodec;
  settings: SimSettings;
  user: UserState;
  query: Query;
  body: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  /** Identity of the OAuth client that authenticated the call. */
  clientId: string;
}
