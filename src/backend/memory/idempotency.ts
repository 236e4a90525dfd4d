import type { IdempotencyStore } from '../../core/ports.js';

/** Keys are remembered this long, as the contract says. */
export const IDEMPOTENCY_TTL_MS = 10 * 60_000;

/** Idempotency keys of one process, forgotten after the TTL; a failed run forgets its key. */
export class MemoryIdempotency implements IdempotencyStore {
  private readonly entries = new Map<string, { expiresAt: number; answer: Promise<unknown> }>();

  constructor(private readonly ttlMs: number = IDEMPOTENCY_TTL_MS) {}

  async once<T>(key: string, run: () => Promise<T>): Promise<T> {
    const now = Date.now();
    this.sweep(now);
    const hit = this.entries.get(key);
    if (hit !== undefined) return hit.answer as Promise<T>;
    const answer = run();
    this.entries.set(key, { expiresAt: now + this.ttlMs, answer });
    answer.catch(() => this.entries.delete(key));
    return answer;
  }

  /** Drops expired keys; entries are in insertion order, so it stops at the first live one. */
  private sweep(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt > now) break;
      this.entries.delete(key);
    }
  }

  async close(): Promise<void> {
    this.entries.clear();
  }
}
