// examples/browser-subscriber.html in headless Chromium: served from its own
// origin (as the page says: a static server on another port), it logs in
// cross-origin, opens an EventSource with ?access_token= and shows an event
// published to its room. Needs Debian's chromium (CHROMIUM_PATH) and `npm run build`.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROWSER_HOOK_TIMEOUT_MS, launchBrowser } from '../support/browser.js';
import { api, login } from '../support/http.js';
import { freePort } from '../support/net.js';
import { ROOT, startHubProcess, type HubChild } from '../support/processes.js';
import { TEST_SECRET } from '../support/tokens.js';
import { waitFor } from '../support/wait.js';

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

describe('examples/browser-subscriber.html in Chromium', () => {
  let dir: string;
  let hub: HubChild;
  let server: Server;
  let pageOrigin: string;
  let browser: Browser;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'roomcast-browser-example-'));
    const port = await freePort();
    pageOrigin = `http://127.0.0.1:${port}`;
    // A static server for examples/, as a user would run one.
    server = createServer((req, res) => {
      const rel = normalize(decodeURIComponent(new URL(req.url ?? '/', pageOrigin).pathname)).replace(/^(\.\.[/\\])+/, '');
      try {
        const body = readFileSync(join(ROOT, 'examples', rel));
        res.writeHead(200, { 'Content-Type': TYPES[extname(rel)] ?? 'application/octet-stream' }).end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    hub = await startHubProcess({ DEMO: 'true', JWT_SECRET: TEST_SECRET, CORS_ORIGINS: pageOrigin }, { cwd: dir });
    browser = await launchBrowser();
  }, BROWSER_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close();
    await hub?.kill('SIGTERM');
    await new Promise((r) => server?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs in, streams with access_token and shows an event published to its room', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });

    await page.goto(`${pageOrigin}/browser-subscriber.html`);
    await page.fill('#hub', hub.url);
    await page.fill('#username', 'alice');
    await page.fill('#password', 'alice');
    await page.fill('#rooms', 'news');
    await page.fill('#types', 'headline');
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'connected', null, { timeout: 10_000 });
    await page.waitForFunction(() => document.getElementById('log')?.textContent?.includes('connected {'), null, { timeout: 10_000 });

    const admin = await login(hub.url, 'admin');
    const r = await api(hub.url, 'POST', '/broadcast/room/news', { token: admin, body: { type: 'headline', data: { title: 'from the test' } } });
    expect(r.status).toBe(202);
    const id = r.body.id as string;
    await waitFor('the event in the page', async () => {
      const text = await page.textContent('#log');
      return text?.includes(`#${id} headline [news] {"title":"from the test"}`) ? true : undefined;
    }, 10_000);
    expect(problems).toEqual([]);
    await page.close();
  });
});
