// Helpers for the browser tests: a hub in a child process (`node dist/main.js`) and headless Chromium.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const ARTIFACTS = resolve(ROOT, 'test-artifacts');
/** Fixed for the tests, so a token minted before a restart still verifies after it. */
export const BROWSER_TEST_SECRET = 'browser-test-secret-0123456789-abcdefghijklmnop';
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const REDIS_URL = process.env.BROWSER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => ok(port));
    });
  });
}

/** True when something accepts TCP connections at host:port within the timeout. */
export function reachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((ok) => {
    const sock = new Socket();
    const done = (v: boolean): void => {
      sock.destroy();
      ok(v);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('error', () => done(false));
    sock.connect(port, host, () => done(true));
  });
}

/** A hub in a child process. */
export interface HubProcess {
  readonly url: string;
  readonly port: number;
  readonly proc: ChildProcess;
  /** What the process printed, for failure messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `node dist/main.js` in demo mode on `port` with `env` on top of the test defaults,
 * and waits (bounded) until GET /health answers 200.
 */
export async function startHub(port: number, env: Record<string, string> = {}): Promise<HubProcess> {
  const main = resolve(ROOT, 'dist/main.js');
  if (!existsSync(main)) throw new Error('dist/main.js is missing: run `npm run build` first (npm test does)');
  const proc = spawn(process.execPath, [main], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      DEMO: 'true',
      JWT_SECRET: BROWSER_TEST_SECRET,
      LOG_LEVEL: 'warn',
      HEARTBEAT_MS: '1000',
      RETRY_MS: '500',
      SHUTDOWN_TIMEOUT_MS: '3000',
      LOGIN_RATE_LIMIT: '1000',
      SIMULATORS: 'time',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-20_000); });
  proc.stderr?.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-20_000); });
  const exited = new Promise<void>((r) => {
    if (proc.exitCode !== null || proc.signalCode !== null) r();
    else proc.once('exit', () => r());
  });
  const url = `http://127.0.0.1:${port}`;
  const hub: HubProcess = {
    url,
    port,
    proc,
    output: () => out,
    stop: async (graceMs = 5000) => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(t);
      }
    },
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`hub exited with ${proc.exitCode} before serving:\n${out}`);
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return hub;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await hub.stop(500);
      throw new Error(`hub did not answer /health within 15 s:\n${out}`);
    }
    await sleep(100);
  }
}

/** Launches Debian's headless Chromium. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
    timeout: 20_000,
  });
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
