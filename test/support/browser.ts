// Debian's headless Chromium, driven by playwright-core.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Where Chromium is (apt-get install -y chromium), unless CHROMIUM_PATH says otherwise. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Why this long, and why a second try: on CI's two cores, with the suite's other files starting
// hubs and Redis topologies beside it, one launch once took more than 20 s; on a quiet machine it
// takes about 0.5 s.
const LAUNCH_TIMEOUT_MS = 45_000;
const LAUNCH_ATTEMPTS = 2;

/** What a hook that launches the browser should allow: every attempt, plus room for its other work. */
export const BROWSER_HOOK_TIMEOUT_MS = LAUNCH_TIMEOUT_MS * LAUNCH_ATTEMPTS + 30_000;

/** Launches headless Chromium with nothing running in the background; tries twice before failing. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  for (let attempt = 1; ; attempt++) {
    try {
      return await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
        timeout: LAUNCH_TIMEOUT_MS,
      });
    } catch (err) {
      if (attempt >= LAUNCH_ATTEMPTS) throw err;
    }
  }
}
