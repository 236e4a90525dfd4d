import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisErrors } from './client.js';
import { HubError } from '../../core/errors.js';
import type { IdempotencyStore } from '../../core/ports.js';
import { IDEMPOTENCY_TTL_MS } from '../memory/idempotency.js';

/** How often a repeat polls for the first request's answer while it is still running. */
const POLL_MS = 25;
/** How long a repeat waits for the first request (on another process) to finish. */
const WAIT_MS = 10_000;

type Record_ = { state: 'pending' } | { state: 'done'; answer: unknown };

/**
 * Idempotency keys shared by every process: the first request claims the key (SET NX) and stores
 * its answer; a repeat on any process within the TTL answers that answer (waiting while the first
 * is still running). A failed run releases the key. Repeats on this process share the first
 * request's promise directly.
 */
export class RedisIdempotency implements IdempotencyStore {
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly errors: RedisErrors,
    private readonly ttlMs: number = IDEMPOTENCY_TTL_MS,
  ) {}

  private keyOf(key: string): string {
    return `${this.prefix}idem:${createHash('sha256').update(key).digest('hex')}`;
  }

  once<T>(key: string, run: () => Promise<T>): Promise<T> {
    const local = this.inFlight.get(key);
    if (local !== undefined) return local as Promise<T>;
    const p = this.claim(key, run).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }

  private async claim<T>(key: string, run: () => Promise<T>): Promise<T> {
    const rkey = this.keyOf(key);
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const pending = JSON.stringify({ state: 'pending' } satisfies Record_);
      const claimed = await this.errors.guard('idempotency-claim', this.redis.set(rkey, pending, 'PX', this.ttlMs, 'NX'), { rkey });
      if (claimed === 'OK') return this.runClaimed(rkey, run);
      const raw = await this.errors.guard('idempotency-get', this.redis.get(rkey), { rkey });
      if (raw !== null) {
        const rec = JSON.parse(raw) as Record_;
        if (rec.state === 'done') return rec.answer as T;
      }
      // Pending on another process (or released by a failed run, then we claim it next round).
      if (Date.now() >= deadline) {
        throw new HubError('unavailable', 'a request with this Idempotency-Key is still being processed; try again');
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  private async runClaimed<T>(rkey: string, run: () => Promise<T>): Promise<T> {
    let answer: T;
    try {
      answer = await run();
    } catch (err) {
      try {
        await this.errors.guard('idempotency-release', this.redis.del(rkey), { rkey });
      } catch {
        // recorded; the key expires with its TTL
      }
      throw err;
    }
    const done = JSON.stringify({ state: 'done', answer } satisfies Record_);
    try {
      await this.errors.guard('idempotency-store', this.redis.set(rkey, done, 'PX', this.ttlMs, 'XX'), { rkey });
    } catch {
      // The publish happened; its answer stands. Repeats wait, then answer 503 rather than publish twice.
    }
    return answer;
  }

  async close(): Promise<void> {
    this.inFlight.clear();
  }
}
