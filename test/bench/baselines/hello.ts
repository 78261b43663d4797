// Webhook benchmark baseline: a functions-framework HTTP handler that only answers 204 (the physical limit here).
import type { HttpFunction } from '@google-cloud/functions-framework';

export const hello: HttpFunction = (_req, res) => {
  res.status(204).end();
};
