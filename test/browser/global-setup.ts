// Vitest global setup for the browser tier: finds Chromium, or says loudly that the suite is skipped (a failure under REQUIRE_BROWSER=1).
import type { TestProject } from 'vitest/node';
import { chromiumMissing } from './chromium.js';

declare module 'vitest' {
  export interface ProvidedContext {
    browserMissing: string;
  }
}

export default function setup(project: TestProject): void {
  const missing = chromiumMissing();
  if (missing) {
    const line = `BROWSER MISSING: ${missing} — the browser suite is skipped`;
    if (process.env.REQUIRE_BROWSER === '1') {
      throw new Error(`${line}; REQUIRE_BROWSER=1 makes this a failure`);
    }
    console.error(`\n${'!'.repeat(100)}\n${line}\n${'!'.repeat(100)}\n`);
  }
  project.provide('browserMissing', missing);
}
