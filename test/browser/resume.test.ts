// The dashboard across interruptions: an expired session and a history gap, shown with a way back in;
// a hub stopped and restarted on the same port, after which the page shows what was published meanwhile.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../support/http.js';
import { freePort, reachable } from '../support/net.js';
import type { HubChild } from '../support/processes.js';
import { REDIS_URL, deletePrefix } from '../support/redis-keys.js';
import { mint } from '../support/tokens.js';
import { waitFor } from '../support/wait.js';
import { BROWSER_HOOK_TIMEOUT_MS, compareIds, launchBrowser, login, logIds, newPage, startHub } from './support.js';

let browser: Browser;
const hubs: HubChild[] = [];
const tag = Math.random().toString(36).slice(2, 8);

beforeAll(async () => {
  browser = await launchBrowser();
}, BROWSER_HOOK_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await Promise.all(hubs.map((h) => h.kill()));
});

async function hub(port: number, env: Record<string, string>): Promise<HubChild> {
  const h = await startHub(port, env);
  hubs.push(h);
  return h;
}

/** Ids in the log must be unique and in increasing order. */
async function expectOrderedOnce(ids: string[]): Promise<void> {
  expect(new Set(ids).size, `duplicate ids in ${ids.join(',')}`).toBe(ids.length);
  expect([...ids].sort(compareIds)).toEqual(ids);
}

describe('an expired session and a history gap', () => {
  it('shows token-expired with a way back in, then the history gap, and carries on', async () => {
    const h = await hub(await freePort(), { JWT_TTL: '5', HISTORY_SIZE: '3', SIMULATORS: 'time' });
    const { page, problems } = await newPage(browser);
    await login(page, h.url, 'alice');
    await page.locator('#event-log li[data-type="time"]').first().waitFor({ timeout: 5000 });

    // The token lives 5 s: the hub ends the stream with token-expired.
    await page.locator('#conn[data-state="expired"]').waitFor({ timeout: 10_000 });
    await page.locator('#notice[data-kind="error"]').waitFor({ state: 'visible' });
    expect(await page.locator('#notice-text').textContent()).toMatch(/session has expired/i);
    expect(await page.locator('#dashboard').isVisible()).toBe(true);
    await page.locator('#event-log li[data-type="token-expired"]').waitFor();
    const before = await logIds(page);

    // While away, the three-event history moves past the last event the page saw.
    const admin = mint('history-watcher', 'admin');
    await waitFor('the history to move past the page', async () =>
      (await api(h.url, 'GET', `/events/history?after=${before[before.length - 1]}`, { token: admin })).body.gap === true, 10_000, 200);

    const again = page.getByRole('button', { name: 'Log in again' });
    await again.focus();
    await page.keyboard.press('Enter');
    await page.locator('#login-view').waitFor({ state: 'visible' });
    expect(await page.locator('#login-username').inputValue()).toBe('alice');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('login-password');
    await page.keyboard.type('alice');
    await page.keyboard.press('Enter');
    await page.locator('#conn[data-state="live"]').waitFor({ timeout: 5000 });

    // Resumed with the last id the page saw, which the hub no longer keeps: the gap is shown.
    await page.locator('#notice[data-kind="warning"]').waitFor({ state: 'visible', timeout: 5000 });
    expect(await page.locator('#notice-text').textContent()).toMatch(/missed/i);
    expect(await page.locator('#notice-text').textContent()).toContain(before[before.length - 1]);
    await page.locator('#event-log li[data-type="history-gap"]').waitFor();
    await expect.poll(async () => (await logIds(page)).length, { timeout: 5000 }).toBeGreaterThan(before.length + 1);
    await expectOrderedOnce(await logIds(page));

    // The way back in from a gap: reload, and the cookie session starts a fresh view.
    await page.getByRole('button', { name: 'Reload the page' }).click();
    await page.locator('#conn[data-state="live"]').waitFor({ timeout: 5000 });
    expect(await page.locator('#notice').isHidden()).toBe(true);
    await page.locator('#event-log li[data-type="time"]').first().waitFor({ timeout: 5000 });
    expect(problems).toEqual([]);
    await page.context().close();
  });
});

describe('a hub restarted on the same port', () => {
  const prefix = `test-browser-${tag}:`;
  let redis = false;

  beforeAll(async () => {
    const u = new URL(REDIS_URL);
    redis = await reachable(u.hostname, Number(u.port || 6379));
  });

  afterAll(async () => {
    if (!redis) return;
    await deletePrefix(prefix, REDIS_URL);
  });

  it('reconnects by itself and shows the events published while it was down, in order, once each', async () => {
    const port = await freePort();
    // With Redis the history outlives the process (cluster mode); without, it restarts empty, so the
    // events are published right after the restart and before the page's retry comes round.
    const env: Record<string, string> = redis
      ? { REDIS_URL, REDIS_PREFIX: prefix, SIMULATORS: 'time', RETRY_MS: '1000' }
      : { SIMULATORS: 'time', RETRY_MS: '3000' };
    let h = await hub(port, env);
    const { page, problems } = await newPage(browser);
    await login(page, h.url, 'alice');
    await expect.poll(() => page.locator('#event-log li[data-type="time"]').count(), { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    const before = await logIds(page);

    await h.kill();
    await page.locator('#conn[data-state="reconnecting"]').waitFor({ timeout: 5000 });
    expect(await page.locator('#notice-text').textContent()).toMatch(/restarting/i);

    const markers = [1, 2, 3].map((i) => `published while down ${i} ${tag}`);
    const adminToken = async (url: string): Promise<string> => {
      const res = await fetch(`${url}/auth/login`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'admin' }),
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as { token: string }).token;
    };
    const publishAll = async (url: string): Promise<void> => {
      const token = await adminToken(url);
      for (const text of markers) {
        const r = await fetch(`${url}/broadcast`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ type: 'announcement', data: { text } }),
        });
        expect(r.status, await r.clone().text()).toBe(202);
      }
    };

    if (redis) {
      // Another process of the same hub publishes while this one is down.
      const other = await hub(await freePort(), { REDIS_URL, REDIS_PREFIX: prefix, SIMULATORS: 'none' });
      await publishAll(other.url);
      await other.kill();
      expect(await page.locator('#conn').getAttribute('data-state')).toBe('reconnecting');
      h = await hub(port, env);
    } else {
      h = await hub(port, env);
      await publishAll(h.url);
    }

    await page.locator('#conn[data-state="live"]').waitFor({ timeout: 10_000 });
    for (const text of markers) await page.locator('#event-log li[data-type="announcement"]', { hasText: text }).waitFor({ timeout: 5000 });
    // Live events carry on after the replay.
    const afterMarkers = async (): Promise<number> => {
      const types = await page.locator('#event-log li[data-id]').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.type));
      return types.indexOf('announcement');
    };
    await expect.poll(afterMarkers, { timeout: 5000 }).toBeGreaterThan(0);

    const ids = await logIds(page);
    await expectOrderedOnce(ids);
    for (const id of before) expect(ids).toContain(id);
    const texts = await page.locator('#event-log li[data-type="announcement"] .data').allTextContents();
    expect(texts.reverse().map((t) => (JSON.parse(t) as { text: string }).text)).toEqual(markers);
    // The hub sent nothing twice (the page counts any duplicate it drops).
    expect(await page.locator('#event-log').getAttribute('data-duplicates')).toBeNull();
    if (redis) {
      expect(await page.locator('#event-log li[data-type="history-gap"]').count()).toBe(0);
      const stats = await fetch(`${h.url}/stats`, { headers: { authorization: `Bearer ${await adminToken(h.url)}` } });
      expect(((await stats.json()) as { redis: string }).redis).toBe('up');
    }
    expect(await page.locator('#notice').isHidden()).toBe(redis);
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
