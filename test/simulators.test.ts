import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FeedPublisher } from '../src/simulators/index.js';
import { CHAT_BOT, STOCK_SYMBOLS, startSimulators, stepPrice, timeData } from '../src/simulators/index.js';

type Published = Parameters<FeedPublisher['publish']>[0];

function recorder(fail: (n: number) => boolean = () => false): FeedPublisher & { calls: Published[] } {
  const calls: Published[] = [];
  return {
    calls,
    publish(input) {
      calls.push(input);
      return fail(calls.length) ? Promise.reject(new Error('redis down')) : Promise.resolve({ id: String(calls.length) });
    },
  };
}

describe('stepPrice (random walk)', () => {
  it('never goes below zero, whatever the draws', () => {
    for (const draws of [() => 0, () => Math.random(), () => 0.0001]) {
      let price = 1;
      for (let i = 0; i < 5000; i++) {
        const q = stepPrice('X', price, draws());
        expect(q.price).toBeGreaterThanOrEqual(0);
        price = q.price;
      }
    }
    expect(stepPrice('X', 0, 0).price).toBe(0);
    expect(stepPrice('X', 0.004, 0).price).toBe(0);
    expect(stepPrice('X', -5, 0).price).toBe(0);
    expect(stepPrice('X', Number.NaN, 0.2).price).toBe(0);
  });

  it('can rise again from zero', () => {
    expect(stepPrice('X', 0, 0.999).price).toBeGreaterThan(0);
  });

  it('reports change and percent against the previous price', () => {
    const q = stepPrice('AAPL', 100, 1);
    expect(q).toEqual({ symbol: 'AAPL', price: 102, change: 2, changePercent: 2 });
    const d = stepPrice('AAPL', 200, 0);
    expect(d).toEqual({ symbol: 'AAPL', price: 196, change: -4, changePercent: -2 });
    const flat = stepPrice('AAPL', 50, 0.5);
    expect(flat.price).toBe(50);
    expect(flat.change).toBe(0);
  });

  it('keeps each step within ±2 % and rounds to cents', () => {
    let price = 150;
    for (let i = 0; i < 1000; i++) {
      const q = stepPrice('X', price, Math.random());
      expect(Math.abs(q.price - price)).toBeLessThanOrEqual(price * 0.02 + 0.011);
      expect(Math.round(q.price * 100) / 100).toBe(q.price);
      expect(q.change).toBeCloseTo(q.price - price, 2);
      price = q.price;
    }
  });
});

/** Runs with the process's local time zone set to `tz` (Node reads TZ again when it changes). */
function inZone<T>(tz: string, fn: () => T): T {
  const before = process.env.TZ;
  process.env.TZ = tz;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env.TZ;
    else process.env.TZ = before;
  }
}

describe('startSimulators', () => {
  const zone = process.env.TZ;
  beforeEach(() => {
    process.env.TZ = 'UTC';
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2025-01-02T03:04:05.678Z'));
  });
  afterEach(() => {
    vi.useRealTimers();
    if (zone === undefined) delete process.env.TZ;
    else process.env.TZ = zone;
  });

  it('publishes time every second to everyone, as system', async () => {
    const pub = recorder();
    const sims = startSimulators(['time'], pub);
    await vi.advanceTimersByTimeAsync(999);
    expect(pub.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(pub.calls).toHaveLength(1);
    const first = pub.calls[0]!;
    expect(first).toMatchObject({ type: 'time', room: null, sender: 'system' });
    expect(first.data).toEqual({ time: '03:04:06', date: '2025-01-02', iso: '2025-01-02T03:04:06.678Z' });
    await vi.advanceTimersByTimeAsync(3000);
    expect(pub.calls).toHaveLength(4);
    sims.stop();
  });

  it('publishes one stock-update per symbol every 2 s to room stocks', async () => {
    const pub = recorder();
    const sims = startSimulators(['stock'], pub);
    const symbols = Object.keys(STOCK_SYMBOLS);
    await vi.advanceTimersByTimeAsync(2000);
    expect(pub.calls).toHaveLength(symbols.length);
    for (const call of pub.calls) {
      expect(call).toMatchObject({ type: 'stock-update', room: 'stocks', sender: 'system' });
      const d = call.data as { symbol: string; price: number; change: number; changePercent: number };
      expect(symbols).toContain(d.symbol);
      expect(d.price).toBeGreaterThanOrEqual(0);
      expect(typeof d.change).toBe('number');
      expect(typeof d.changePercent).toBe('number');
    }
    await vi.advanceTimersByTimeAsync(2000);
    expect(pub.calls).toHaveLength(symbols.length * 2);
    // The walk continues from the last price: change is measured against it.
    const aapl = pub.calls.filter((c) => (c.data as { symbol: string }).symbol === 'AAPL').map((c) => c.data as { price: number; change: number });
    expect(aapl[1]!.change).toBeCloseTo(aapl[1]!.price - aapl[0]!.price, 2);
    sims.stop();
  });

  it('publishes chat-message from the bot every 4 s to room chat', async () => {
    const pub = recorder();
    const sims = startSimulators(['chat'], pub);
    await vi.advanceTimersByTimeAsync(8000);
    expect(pub.calls).toHaveLength(2);
    for (const call of pub.calls) {
      expect(call).toMatchObject({ type: 'chat-message', room: 'chat', sender: 'system' });
      expect(call.data).toMatchObject({ userId: CHAT_BOT.userId, username: CHAT_BOT.username });
      expect((call.data as { text: string }).text.length).toBeGreaterThan(0);
    }
    expect((pub.calls[0]!.data as { text: string }).text).not.toBe((pub.calls[1]!.data as { text: string }).text);
    sims.stop();
  });

  it('honours custom intervals', async () => {
    const pub = recorder();
    const sims = startSimulators(['time', 'chat'], pub, { intervalsMs: { time: 100, chat: 250 } });
    await vi.advanceTimersByTimeAsync(500);
    expect(pub.calls.filter((c) => c.type === 'time')).toHaveLength(5);
    expect(pub.calls.filter((c) => c.type === 'chat-message')).toHaveLength(2);
    sims.stop();
  });

  it('stop() stops every feed and clears its timers', async () => {
    const pub = recorder();
    const sims = startSimulators(['time', 'stock', 'chat'], pub);
    await vi.advanceTimersByTimeAsync(4000);
    const before = pub.calls.length;
    expect(before).toBeGreaterThan(0);
    expect(vi.getTimerCount()).toBe(3);
    sims.stop();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(pub.calls.length).toBe(before);
    sims.stop(); // idempotent
  });

  it('a failing publish is logged and the feed keeps going', async () => {
    const pub = recorder((n) => n <= 2);
    const warn = vi.fn();
    const sims = startSimulators(['time'], pub, { logger: { warn } });
    await vi.advanceTimersByTimeAsync(4000);
    expect(pub.calls).toHaveLength(4);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(warn.mock.calls[0]![0]).toMatchObject({ feed: 'time', type: 'time' });
    expect(warn.mock.calls[0]![1]).toMatch(/publish failed/);
    sims.stop();
  });

  it('a publisher that throws synchronously does not stop the feed', async () => {
    let n = 0;
    const warn = vi.fn();
    const pub: FeedPublisher = {
      publish() {
        n += 1;
        if (n === 1) throw new Error('boom');
        return Promise.resolve(null);
      },
    };
    const sims = startSimulators(['time'], pub, { logger: { warn } });
    await vi.advanceTimersByTimeAsync(3000);
    expect(n).toBe(3);
    expect(warn).toHaveBeenCalledTimes(1);
    sims.stop();
  });

  it('timeData gives the local wall clock as HH:MM:SS, the local date and the ISO-8601 instant', () => {
    const instant = new Date('2024-02-29T23:59:59.000Z');
    const iso = '2024-02-29T23:59:59.000Z';
    expect(inZone('UTC', () => timeData(instant))).toEqual({ time: '23:59:59', date: '2024-02-29', iso });
    expect(inZone('Asia/Kolkata', () => timeData(instant))).toEqual({ time: '05:29:59', date: '2024-03-01', iso });
    expect(inZone('America/New_York', () => timeData(instant))).toEqual({ time: '18:59:59', date: '2024-02-29', iso });
    expect(inZone('UTC', () => timeData(new Date('2025-07-04T00:00:07.000Z'))).time).toBe('00:00:07');
  });
});
