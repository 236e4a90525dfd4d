// /sdk/roomcast.js as pages without a bundler use it: headless Chromium loads a page from another
// origin that imports the module from the hub (CORS_ORIGINS names the page's origin), subscribes
// with a bearer token, joins a room and publishes. And the route's own answer: type, caching, CORS.
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub.js';
import { BROWSER_HOOK_TIMEOUT_MS, launchBrowser, newPage } from '../browser/support.js';

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>sdk</title>
<script type="module" src="/page.js"></script></head><body><pre id="out"></pre></body></html>`;

const SCRIPT = `
const q = new URLSearchParams(location.search);
const { RoomcastClient, RoomcastPublisher } = await import(q.get('hub') + '/sdk/roomcast.js');
const results = { states: [], events: [], joined: null, ids: null, error: null };
window.results = results;
const client = new RoomcastClient({ url: q.get('hub'), token: q.get('user') });
const sub = client.subscribe({ rooms: ['lobby'] });
sub.on('state', (s) => results.states.push(s));
sub.on('event', (e) => {
  results.events.push({ id: e.id, type: e.type, room: e.room, userId: e.userId, data: e.data });
  if (results.events.length === 3) sub.close();
});
sub.on('connected', async () => {
  try {
    results.joined = await client.join('stocks');
    const pub = new RoomcastPublisher({ url: q.get('hub'), token: q.get('publisher') });
    const one = await pub.publish({ type: 'hello', data: { from: location.origin }, room: 'lobby' });
    const batch = await pub.publishBatch([{ type: 'quote', data: { p: 1 }, room: 'stocks' }, { type: 'dm', data: {}, userId: 'alice' }]);
    results.ids = [one.id, ...batch.ids];
  } catch (err) {
    results.error = String(err);
  }
});
`;

let hub: TestHub;
let pages: Server;
let pageOrigin: string;
let browser: Browser;

beforeAll(async () => {
  pages = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/') res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(PAGE);
    else if (path === '/page.js') res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' }).end(SCRIPT);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => pages.listen(0, '127.0.0.1', r));
  pageOrigin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
  [hub, browser] = await Promise.all([startTestHub({ CORS_ORIGINS: pageOrigin }), launchBrowser()]);
}, BROWSER_HOOK_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await hub?.close();
  await new Promise((r) => pages?.close(r));
});

describe('GET /sdk/roomcast.js', () => {
  it('is one cacheable ES module, with CORS for the configured origins only', async () => {
    const res = await fetch(`${hub.url}/sdk/roomcast.js`, { headers: { Origin: pageOrigin } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    expect(res.headers.get('access-control-allow-origin')).toBe(pageOrigin);
    const etag = res.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]+"$/);
    const body = await res.text();
    expect(body).toMatch(/export\s*\{[^}]*\bRoomcastClient\b[^}]*\bRoomcastPublisher\b/s);
    // Self-contained: nothing for the browser to fetch besides this file.
    expect(body).not.toMatch(/^\s*import\s/m);

    // A revalidation (plain http: fetch would add Cache-Control: no-cache to a conditional request).
    const status = await new Promise<number | undefined>((resolve, reject) => {
      get(`${hub.url}/sdk/roomcast.js`, { headers: { 'If-None-Match': etag ?? '' } }, (r) => {
        r.resume();
        resolve(r.statusCode);
      }).on('error', reject);
    });
    expect(status).toBe(304);
    const stranger = await fetch(`${hub.url}/sdk/roomcast.js`, { headers: { Origin: 'http://elsewhere.test' } });
    expect(stranger.status).toBe(200);
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('runs in Chromium on a page of another origin: subscribes, joins, publishes', async () => {
    const { page, problems, context } = await newPage(browser);
    const q = new URLSearchParams({ hub: hub.url, user: hub.token('alice'), publisher: hub.token('svc', 'publisher') });
    await page.goto(`${pageOrigin}/?${q}`);
    await page.waitForFunction(() => {
      const r = (window as unknown as { results?: { events: unknown[]; error: string | null } }).results;
      return r !== undefined && (r.events.length === 3 || r.error !== null);
    }, null, { timeout: 15_000 });
    const results = await page.evaluate(() => (window as unknown as { results: unknown }).results) as {
      states: string[]; events: { id: string; type: string; room: string | null; userId: string | null; data: unknown }[];
      joined: unknown; ids: string[] | null; error: string | null;
    };
    expect(results.error).toBeNull();
    expect(results.joined).toEqual({ roomId: 'stocks', joined: 1 });
    expect(results.events.map((e) => e.id)).toEqual(results.ids);
    expect(results.events.map((e) => [e.type, e.room, e.userId])).toEqual([['hello', 'lobby', null], ['quote', 'stocks', null], ['dm', null, 'alice']]);
    expect(results.events[0]?.data).toEqual({ from: pageOrigin });
    expect(results.states).toEqual(['connecting', 'open', 'closed']);
    expect(problems).toEqual([]);
    await context.close();
  });
});
