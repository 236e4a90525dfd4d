// Helpers for the browser tests: a demo hub in a child process and pages in headless Chromium.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ROOT, startHubProcess, type HubChild } from '../support/processes.js';
import { TEST_SECRET } from '../support/tokens.js';

export { BROWSER_HOOK_TIMEOUT_MS, launchBrowser } from '../support/browser.js';

/** Where the browser tests leave screenshots for people to look at. */
export const ARTIFACTS = resolve(ROOT, 'test-artifacts');

/**
 * Starts `node dist/main.js` in demo mode on `port` (fixed, so a page can see it restart) with
 * `env` on top of the browser tests' defaults, and waits until /health answers.
 */
export function startHub(port: number, env: Record<string, string> = {}): Promise<HubChild> {
  return startHubProcess({
    DEMO: 'true', JWT_SECRET: TEST_SECRET, HEARTBEAT_MS: '1000', RETRY_MS: '500', SHUTDOWN_TIMEOUT_MS: '3000',
    LOGIN_RATE_LIMIT: '1000', SIMULATORS: 'time', ...env,
  }, { port });
}

/** A page in its own context (its own cookies), recording errors and CSP violations. */
export interface TestPage {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Page errors, console errors other than expected HTTP statuses, and CSP reports. */
  readonly problems: string[];
}

export async function newPage(browser: Browser, opts: { width?: number; height?: number } = {}): Promise<TestPage> {
  const context = await browser.newContext({ viewport: { width: opts.width ?? 1400, height: opts.height ?? 1000 }, colorScheme: 'light', reducedMotion: 'reduce' });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    const text = m.text();
    // The first POST /auth/refresh answers 401 when nobody is logged in; a stopped hub refuses connections.
    if (/Failed to load resource|net::ERR_CONNECTION_REFUSED|ERR_INCOMPLETE_CHUNKED_ENCODING/.test(text)) return;
    if (m.type() === 'error' || /Content Security Policy/i.test(text)) problems.push(`console.${m.type()}: ${text}`);
  });
  return { context, page, problems };
}

/** Logs in through the form, by keyboard, and waits until the stream is live. */
export async function login(page: Page, base: string, user: string, password = user): Promise<void> {
  await page.goto(`${base}/`);
  await page.locator('#login-username').fill(user);
  await page.locator('#login-password').fill(password);
  await page.locator('#login-password').press('Enter');
  await page.locator('#conn[data-state="live"]').waitFor({ timeout: 10_000 });
}

/** Joins a room with the panel's toggle button (stocks, chat) unless already in it, and waits for the membership. */
export async function joinWithToggle(page: Page, room: 'stocks' | 'chat'): Promise<void> {
  const toggle = page.locator(`#${room}-toggle`);
  if ((await toggle.getAttribute('data-joined')) !== 'true') await toggle.click();
  await page.locator(`#${room}-toggle[data-joined="true"]`).waitFor({ timeout: 10_000 });
}

/** Ids of the published events in the log, oldest first. */
export async function logIds(page: Page): Promise<string[]> {
  const ids = await page.locator('#event-log li[data-id]').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.id ?? ''));
  return ids.reverse();
}

/** Compares event ids: numeric strings compare as numbers, anything else as strings. */
export function compareIds(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

export function ensureArtifacts(): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return ARTIFACTS;
}
