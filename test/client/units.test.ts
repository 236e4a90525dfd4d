// The client library's pure parts: the SSE parser, backoff with full jitter, Retry-After, event id
// order, and when a token is renewed (with fake timers: no socket, no waiting).
import jwt from 'jsonwebtoken';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { compareEventIds, fullJitterDelay, parseRetryAfter } from '../../src/client/backoff.js';
import { RoomcastError } from '../../src/client/errors.js';
import { newIdempotencyKey } from '../../src/client/publisher.js';
import { SseParser, type SseFrame } from '../../src/client/sse-parser.js';
import { MAX_RENEW_LEAD_MS, MIN_RENEW_INTERVAL_MS, RenewalSchedule, renewalDelayMs, TokenKeeper, tokenTimes } from '../../src/client/token.js';

function parse(chunks: string[]): { frames: SseFrame[]; retries: number[] } {
  const frames: SseFrame[] = [];
  const retries: number[] = [];
  const p = new SseParser({ frame: (f) => frames.push(f), retry: (ms) => retries.push(ms) });
  for (const c of chunks) p.push(c);
  return { frames, retries };
}

/** A token signed at `iatSec` living `ttlSec` (the signature does not matter to the client). */
function tokenAt(iatSec: number, ttlSec: number, extra: Record<string, unknown> = {}): string {
  return jwt.sign({ sub: 'alice', role: 'user', iat: iatSec, exp: iatSec + ttlSec, ...extra }, 'unit-test-secret');
}

describe('SseParser', () => {
  const stream = 'retry: 3000\n\nevent: connected\ndata: {"a":1}\n\n: ping\n\nid: 0000000000000001\nevent: news\ndata: {"x":\ndata: 2}\n\n';

  it('parses retry, control events, comments and multi-line data', () => {
    const { frames, retries } = parse([stream]);
    expect(retries).toEqual([3000]);
    expect(frames).toEqual([
      { id: undefined, event: 'connected', data: '{"a":1}' },
      { id: '0000000000000001', event: 'news', data: '{"x":\n2}' },
    ]);
  });

  it('gives the same frames whatever the chunking, CRLF and CR line ends included', () => {
    const whole = parse([stream]).frames;
    for (const text of [stream, stream.replace(/\n/g, '\r\n'), stream.replace(/\n/g, '\r')]) {
      for (let size = 1; size <= 7; size++) {
        const chunks: string[] = [];
        for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
        expect(parse(chunks).frames).toEqual(whole);
      }
    }
  });

  it('drops a leading BOM, a frame without data, an id with NUL, and a non-numeric retry', () => {
    const { frames, retries } = parse(['\ufeffevent: a\n\nid: x\u0000y\nretry: 1s\ndata: d\n\n']);
    expect(retries).toEqual([]);
    expect(frames).toEqual([{ id: undefined, event: 'message', data: 'd' }]);
  });

  it('keeps a field without a colon and a value without the optional space', () => {
    expect(parse(['data\ndata:x\n\n']).frames).toEqual([{ id: undefined, event: 'message', data: '\nx' }]);
  });
});

describe('backoff', () => {
  const opts = { baseMs: 1000, maxMs: 30_000 };

  it('draws each delay from [0, min(cap, base·2^attempt))', () => {
    expect(fullJitterDelay(0, opts, () => 0)).toBe(0);
    expect(fullJitterDelay(0, opts, () => 0.999_999)).toBe(999);
    expect(fullJitterDelay(3, opts, () => 0.5)).toBe(4000);
    expect(fullJitterDelay(4, opts, () => 0.999_999)).toBe(15_999);
    // Capped, however many attempts (and no overflow for absurd ones).
    expect(fullJitterDelay(5, opts, () => 0.999_999)).toBe(29_999);
    expect(fullJitterDelay(10_000, opts, () => 0.5)).toBe(15_000);
  });

  it('spreads delays over the whole window (full jitter, not equal jitter)', () => {
    const draws = Array.from({ length: 2000 }, () => fullJitterDelay(2, opts));
    expect(Math.min(...draws)).toBeLessThan(400);
    expect(Math.max(...draws)).toBeGreaterThan(3600);
    expect(draws.every((d) => d >= 0 && d < 4000)).toBe(true);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter('soon')).toBeNull();
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
  });
});

describe('event ids', () => {
  it('orders the hub ids, and digit strings of other lengths as numbers', () => {
    expect(compareEventIds('1796283667101000', '1796283667111000')).toBe(-1);
    expect(compareEventIds('1796283667111000', '1796283667111000')).toBe(0);
    expect(compareEventIds('99', '100')).toBe(-1);
    expect(compareEventIds('b', 'a')).toBe(1);
  });

  it('makes a fresh idempotency key per publish', () => {
    const keys = new Set(Array.from({ length: 100 }, newIdempotencyKey));
    expect(keys.size).toBe(100);
    for (const k of keys) expect(k).toMatch(/^rc-[0-9a-f]{32}$/);
  });
});

describe('token renewal timing', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reads exp and iat without verifying; nothing for a token that is not a JWT', () => {
    expect(tokenTimes(tokenAt(1000, 60))).toEqual({ expMs: 1_060_000, iatMs: 1_000_000 });
    expect(tokenTimes('not-a-jwt')).toEqual({ expMs: null, iatMs: null });
  });

  it('renews a quarter of the lifetime before exp, at most 60 s before', () => {
    const now = 1_000_000;
    expect(renewalDelayMs(tokenAt(1000, 8), now, now)).toBe(6000);
    expect(renewalDelayMs(tokenAt(1000, 3600), now, now)).toBe(3_600_000 - MAX_RENEW_LEAD_MS);
    // The local clock 2 s behind the hub's: local 998 s is the hub's 1000 s, so 6 s to go, not 8.
    expect(renewalDelayMs(tokenAt(1000, 8), now - 2000, now - 2000, 0)).toBe(8000);
    expect(renewalDelayMs(tokenAt(1000, 8), now - 2000, now - 2000, 2000)).toBe(6000);
    // Already past its renewal time: now.
    expect(renewalDelayMs(tokenAt(1000, 8), now, now + 7000)).toBe(0);
    expect(renewalDelayMs(jwt.sign({ sub: 'x' }, 'k'), now, now)).toBeNull();
  });

  it('asks getToken before each token expires, and for the next one again', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const issued: number[] = [];
    const getToken = (): string => {
      issued.push(Date.now());
      return tokenAt(Math.floor(Date.now() / 1000), 8);
    };
    const keeper = new TokenKeeper({ baseUrl: 'http://127.0.0.1:9', credentials: 'omit', timeoutMs: 1000 }, getToken, undefined);
    await keeper.get();
    const renewed: string[] = [];
    const schedule = new RenewalSchedule(keeper, { renewed: (t) => renewed.push(t), failed: () => undefined });
    schedule.start();
    await vi.advanceTimersByTimeAsync(5999);
    expect(issued).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(issued).toEqual([1_000_000, 1_006_000]);
    await vi.advanceTimersByTimeAsync(6000 * 3);
    expect(issued).toEqual([1_000_000, 1_006_000, 1_012_000, 1_018_000, 1_024_000]);
    expect(renewed).toHaveLength(4);
    expect(renewed.at(-1)).toBe(keeper.current);
    schedule.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(issued).toHaveLength(5);
  });

  it('tries a failed renewal again with backoff; stops on a refusal no retry can cure', async () => {
    vi.useFakeTimers({ now: 2_000_000 });
    const answers: (string | Error)[] = [tokenAt(2000, 8), new Error('offline'), new Error('offline'), tokenAt(2006, 8), new RoomcastError('unauthenticated', 'no', { status: 401 })];
    let calls = 0;
    const getToken = (): string => {
      const a = answers[calls++];
      if (a instanceof Error) throw a;
      return a ?? '';
    };
    const keeper = new TokenKeeper({ baseUrl: 'http://127.0.0.1:9', credentials: 'omit', timeoutMs: 1000 }, getToken, undefined);
    await keeper.get();
    const failures: boolean[] = [];
    const schedule = new RenewalSchedule(keeper, { renewed: () => undefined, failed: (_e, final) => failures.push(final) });
    schedule.start();
    await vi.advanceTimersByTimeAsync(6000);
    expect(calls).toBe(2);
    // Backoff: the retries come within base·2^n (500 ms, then 1 s) after each failure.
    await vi.advanceTimersByTimeAsync(500 + 1000);
    expect(calls).toBe(4);
    expect(failures).toEqual([false, false]);
    // The renewed token (exp 2014 s) is renewed again at 2012 s, then the refusal ends it.
    await vi.advanceTimersByTimeAsync(2_012_000 - Date.now());
    expect(calls).toBe(5);
    expect(failures).toEqual([false, false, true]);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(calls).toBe(5);
    schedule.stop();
  });

  it('never renews more often than once a second, even when getToken keeps handing out a stale token', async () => {
    vi.useFakeTimers({ now: 3_000_000 });
    const stale = tokenAt(2990, 10);
    let calls = 0;
    const keeper = new TokenKeeper({ baseUrl: 'http://127.0.0.1:9', credentials: 'omit', timeoutMs: 1000 }, () => {
      calls += 1;
      return stale;
    }, undefined);
    await keeper.get();
    const schedule = new RenewalSchedule(keeper, { renewed: () => undefined, failed: () => undefined });
    schedule.start();
    await vi.advanceTimersByTimeAsync(10 * MIN_RENEW_INTERVAL_MS);
    expect(calls).toBeLessThanOrEqual(12);
    schedule.stop();
  });
});
