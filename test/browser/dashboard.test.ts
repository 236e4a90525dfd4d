// The dashboard in a real browser: log in, time ticks, stock tiles, chat between two people,
// a targeted admin broadcast, and a screenshot for people to look at.
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/net.js';
import type { HubChild } from '../support/processes.js';
import {
  BROWSER_HOOK_TIMEOUT_MS, ensureArtifacts, joinWithToggle, launchBrowser, login, logIds, compareIds, newPage, startHub, type TestPage,
} from './support.js';

describe('dashboard in Chromium', () => {
  let hub: HubChild;
  let browser: Browser;
  let alice: TestPage;
  let bob: TestPage;
  let admin: TestPage;
  const tag = Math.random().toString(36).slice(2, 8);

  beforeAll(async () => {
    const [h, b] = await Promise.all([
      freePort().then((port) => startHub(port, { SIMULATORS: 'time,stock' })),
      launchBrowser(),
    ]);
    hub = h;
    browser = b;
  }, BROWSER_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await hub?.kill();
  });

  it('logs alice in and shows time ticks, live', async () => {
    alice = await newPage(browser);
    const { page } = alice;
    await page.goto(`${hub.url}/`);
    // Nobody is logged in: the login form, labelled, and nothing else.
    await page.locator('#login-view').waitFor({ state: 'visible' });
    expect(await page.locator('#dashboard').isHidden()).toBe(true);
    await page.locator('#login-username').fill('alice');
    await page.locator('#login-password').fill('wrong');
    await page.locator('#login-password').press('Enter');
    await expect.poll(() => page.locator('#login-error').textContent(), { timeout: 5000 }).toMatch(/wrong username or password/i);

    await login(page, hub.url, 'alice');
    await expect.poll(() => page.locator('#who').textContent()).toContain('alice');
    expect(await page.locator('#conn-label').textContent()).toBe('Live');
    expect(await page.locator('#admin-panel').isHidden()).toBe(true);

    const first = await page.locator('#clock').textContent();
    await expect.poll(() => page.locator('#event-log li[data-type="time"]').count(), { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    await expect.poll(() => page.locator('#clock').textContent(), { timeout: 5000 }).not.toBe(first);
    expect(await page.locator('#clock').textContent()).toMatch(/^\d\d:\d\d:\d\d$/);
    const ticks = await page.locator('#event-log li[data-type="time"]').first().textContent();
    expect(ticks).toMatch(/to everyone · from system/);

    // Filtering the log by type.
    await page.locator('#log-filter').selectOption('connected');
    await expect.poll(() => page.locator('#event-log li').count()).toBe(1);
    expect(await page.locator('#event-log li[data-type="time"]').count()).toBe(0);
    await page.locator('#log-filter').selectOption('');
    await page.locator('#log-hide-time').check();
    expect(await page.locator('#event-log li[data-type="time"]').count()).toBe(0);
    await page.locator('#log-hide-time').uncheck();
    expect(await page.locator('#event-log li[data-type="time"]').count()).toBeGreaterThan(0);

    // Every control has a label a screen reader can announce.
    const unlabelled = await page.locator('input, select, textarea, button').evaluateAll((els) => els
      .filter((e) => {
        const c = e as HTMLInputElement;
        if (c.type === 'hidden' || c.hidden) return false;
        const named = (c.labels && c.labels.length > 0) || c.getAttribute('aria-label') || c.getAttribute('aria-labelledby');
        return !named && !(e.tagName === 'BUTTON' && (e.textContent ?? '').trim() !== '');
      })
      .map((e) => e.id || e.outerHTML.slice(0, 80)));
    expect(unlabelled).toEqual([]);
    expect(alice.problems).toEqual([]);
  });

  it('shows stock tiles that update in place, coloured by change, with a price line', async () => {
    const { page } = alice;
    await joinWithToggle(page, 'stocks');
    const tiles = page.locator('#stock-tiles .tile');
    await expect.poll(() => tiles.count(), { timeout: 6000 }).toBe(5);
    expect(await tiles.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.symbol))).toEqual(['AAPL', 'AMZN', 'GOOG', 'MSFT', 'TSLA']);
    const aapl = page.locator('#stock-tiles .tile[data-symbol="AAPL"]');
    const firstUpdates = Number(await aapl.getAttribute('data-updates'));
    await expect.poll(async () => Number(await aapl.getAttribute('data-updates')), { timeout: 6000 }).toBeGreaterThan(firstUpdates);
    // Still five tiles: the same elements were updated.
    expect(await tiles.count()).toBe(5);
    const state = await tiles.evaluateAll((els) => els.map((e) => ({
      cls: e.className,
      price: Number((e as HTMLElement).dataset.price),
      shown: e.querySelector('.price')?.textContent ?? '',
      change: e.querySelector('.change')?.textContent ?? '',
      points: (e.querySelector('polyline')?.getAttribute('points') ?? '').trim().split(/\s+/).length,
    })));
    for (const t of state) {
      expect(t.price).toBeGreaterThanOrEqual(0);
      expect(t.shown).toBe(t.price.toFixed(2));
      expect(t.change).toMatch(/^[+−±]\d+\.\d\d \([+−±]\d+\.\d\d%\)$/);
      if (t.change.startsWith('+')) expect(t.cls).toContain('up');
      if (t.change.startsWith('−')) expect(t.cls).toContain('down');
      expect(t.points).toBeGreaterThanOrEqual(2);
    }
    // The membership and its member list.
    await page.locator('#my-rooms li[data-room="stocks"] .members li[data-user="alice"]').waitFor();
    expect(await page.locator('#stocks-empty').isHidden()).toBe(true);
  });

  it('delivers a chat message from bob (a second browser context) to alice, and keeps members current', async () => {
    await joinWithToggle(alice.page, 'chat');
    bob = await newPage(browser, { width: 390, height: 844 });
    await login(bob.page, hub.url, 'bob');
    await joinWithToggle(bob.page, 'chat');
    // Presence: alice sees bob arrive in chat.
    await alice.page.locator('#my-rooms li[data-room="chat"] .members li[data-user="bob"]').waitFor({ timeout: 5000 });

    const text = `hello alice from bob ${tag}`;
    await bob.page.locator('#chat-text').fill(text);
    await bob.page.locator('#chat-text').press('Enter');
    const received = alice.page.locator('#chat-log li.msg', { hasText: text });
    await received.waitFor({ timeout: 5000 });
    expect(await received.getAttribute('data-user')).toBe('bob');
    expect(await received.getAttribute('class')).not.toContain('mine');
    expect(await received.locator('.author').textContent()).toBe('bob');
    // Bob sees his own message, marked as his.
    await bob.page.locator('#chat-log li.msg.mine', { hasText: text }).waitFor({ timeout: 5000 });
    await expect.poll(() => bob.page.locator('#chat-text').inputValue()).toBe('');

    // Bob leaves: alice's member list drops him.
    await bob.page.locator('#chat-toggle').click();
    await bob.page.locator('#chat-toggle[data-joined="false"]').waitFor();
    await alice.page.locator('#my-rooms li[data-room="chat"] .members li[data-user="bob"]').waitFor({ state: 'detached', timeout: 5000 });
    expect(bob.problems).toEqual([]);
  });

  it("lets an admin broadcast to alice's user room: alice sees it, bob does not", async () => {
    admin = await newPage(browser);
    const { page } = admin;
    await login(page, hub.url, 'admin');
    await page.locator('#admin-panel').waitFor({ state: 'visible' });
    // Stats refresh and count the three people.
    await expect.poll(async () => Number(await page.locator('#stats .stat', { hasText: 'Connections' }).locator('dd').textContent()), { timeout: 8000 })
      .toBeGreaterThanOrEqual(3);
    const firstUpdate = await page.locator('#stats-updated').textContent();
    await expect.poll(() => page.locator('#stats-updated').textContent(), { timeout: 8000 }).not.toBe(firstUpdate);

    const secret = `for alice only ${tag}`;
    await page.locator('#bc-type').fill('announcement');
    await page.getByLabel('A room').check();
    await page.locator('#bc-target-id').fill('user:alice');
    await page.locator('#bc-data').fill(JSON.stringify({ text: secret }));
    await page.locator('#bc-send').click();
    await expect.poll(() => page.locator('#bc-result').textContent(), { timeout: 5000 }).toMatch(/^Sent event \S+ to 1 connection\.$/);

    // The same through the user target.
    const secret2 = `also for alice ${tag}`;
    await page.getByLabel('A user').check();
    await page.locator('#bc-target-id').fill('alice');
    await page.locator('#bc-data').fill(JSON.stringify({ text: secret2 }));
    await page.locator('#bc-send').click();
    await expect.poll(() => page.locator('#bc-result').textContent(), { timeout: 5000 }).toMatch(/^Sent event \S+ to 1 connection\.$/);

    // Then one to everyone: once bob has it, anything earlier meant for him would have arrived.
    const everyone = `for everyone ${tag}`;
    await page.getByLabel('Everyone').check();
    expect(await page.locator('#bc-target-id').isDisabled()).toBe(true);
    await page.locator('#bc-data').fill(JSON.stringify({ text: everyone }));
    await page.locator('#bc-send').click();
    await expect.poll(() => page.locator('#bc-result').textContent(), { timeout: 5000 }).toMatch(/^Sent event /);

    for (const s of [secret, secret2, everyone]) {
      await alice.page.locator('#event-log li[data-type="announcement"]', { hasText: s }).waitFor({ timeout: 5000 });
    }
    await alice.page.locator('#toasts .toast', { hasText: secret }).waitFor({ timeout: 5000 });
    await bob.page.locator('#event-log li[data-type="announcement"]', { hasText: everyone }).waitFor({ timeout: 5000 });
    expect(await bob.page.locator('#event-log li', { hasText: secret }).count()).toBe(0);
    expect(await bob.page.locator('#event-log li', { hasText: secret2 }).count()).toBe(0);
    expect(await bob.page.locator('#toasts', { hasText: 'alice' }).count()).toBe(0);

    // A bad target is explained, not swallowed.
    await page.getByLabel('A room').check();
    await page.locator('#bc-target-id').fill('not a room!');
    await page.locator('#bc-send').click();
    await expect.poll(() => page.locator('#bc-result').getAttribute('data-kind'), { timeout: 5000 }).toBe('error');

    // Events in every page arrive in id order, each once.
    for (const p of [alice.page, bob.page, page]) {
      const ids = await logIds(p);
      expect(new Set(ids).size).toBe(ids.length);
      expect([...ids].sort(compareIds)).toEqual(ids);
    }
    expect(admin.problems).toEqual([]);
  });

  it('saves screenshots of the dashboard (desktop and phone)', async () => {
    const dir = ensureArtifacts();
    const { page } = admin;
    await joinWithToggle(page, 'stocks');
    await joinWithToggle(page, 'chat');
    await page.locator('#chat-text').fill(`hi everyone, admin here ${tag}`);
    await page.locator('#chat-send').click();
    await page.locator('#stock-tiles .tile').nth(4).waitFor({ timeout: 6000 });
    // Let each price line grow a few points.
    await expect.poll(async () => Number(await page.locator('#stock-tiles .tile[data-symbol="TSLA"]').getAttribute('data-updates')), { timeout: 10_000 })
      .toBeGreaterThanOrEqual(3);
    await page.locator('#toasts').evaluate((el) => el.replaceChildren());
    await page.getByLabel('Everyone').check();
    await page.locator('#bc-data').fill('{"text": "Maintenance at 18:00"}');
    await page.locator('#bc-result').evaluate((el) => { el.textContent = ''; });
    await page.evaluate(() => {
      (document.activeElement as HTMLElement | null)?.blur();
      window.scrollTo(0, 0);
    });
    await page.screenshot({ path: join(dir, 'dashboard.png'), fullPage: true });
    await joinWithToggle(bob.page, 'stocks');
    await bob.page.locator('#stock-tiles .tile').nth(4).waitFor({ timeout: 6000 });
    await bob.page.screenshot({ path: join(dir, 'dashboard-phone.png'), fullPage: true });
    // Nothing on the phone-sized page is wider than the screen.
    const overflow = await bob.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
  });

  it('logs out back to the login form', async () => {
    const { page } = bob;
    await page.locator('#logout').click();
    await page.locator('#login-view').waitFor({ state: 'visible' });
    expect(await page.locator('#conn').getAttribute('data-state')).toBe('offline');
    await page.reload();
    await page.locator('#login-view').waitFor({ state: 'visible' });
    expect(await page.locator('#dashboard').isHidden()).toBe(true);
  });
});
