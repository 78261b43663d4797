// Headless Chromium from the distribution's package, driven by playwright-core (which never downloads a browser).
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's `chromium` package; CALSYNC_CHROMIUM points elsewhere. */
export const CHROMIUM_PATH = process.env.CALSYNC_CHROMIUM ?? '/usr/bin/chromium';

/** Empty when Chromium is here; otherwise what is missing and how to get it. */
export function chromiumMissing(): string {
  return existsSync(CHROMIUM_PATH)
    ? ''
    : `no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set CALSYNC_CHROMIUM)`;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--no-sandbox', // CI runs as root, where Chromium's sandbox refuses to start
      '--disable-gpu',
      // Without these Chromium keeps calling Google's services, which a closed network refuses.
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
