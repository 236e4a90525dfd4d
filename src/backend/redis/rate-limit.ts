import type { ClientRateLimitInfo, IncrementResponse, Options, Store } from 'express-rate-limit';
import { RedisStore, type SendCommandFn } from 'rate-limit-redis';

/**
 * rate-limit-redis, made to survive outages: its Lua script hashes are loaded once and a failed
 * load would stay failed for good, so after any failure the next call reloads them first.
 * (A Redis that restarted answers NOSCRIPT, which RedisStore handles itself; `sendCommand` must
 * pass that error through unchanged.)
 */
export class RedisRateLimitStore implements Store {
  private readonly inner: RedisStore;
  private broken = false;

  constructor(sendCommand: SendCommandFn, readonly prefix: string) {
    this.inner = new RedisStore({ sendCommand, prefix });
  }

  async init(options: Options): Promise<void> {
    try {
      await this.inner.init(options);
    } catch {
      // Redis unreachable at start: the first request loads the scripts (or answers 503).
      this.broken = true;
    }
  }

  private async heal(): Promise<void> {
    if (!this.broken) return;
    const increment = this.inner.loadIncrementScript();
    const get = this.inner.loadGetScript();
    // Stored before they settle (RedisStore awaits them); a rejection is handled here, not left dangling.
    increment.catch(() => {});
    get.catch(() => {});
    this.inner.incrementScriptSha = increment;
    this.inner.getScriptSha = get;
    await Promise.all([increment, get]);
    this.broken = false;
  }

  private async op<T>(work: () => Promise<T>): Promise<T> {
    await this.heal();
    try {
      return await work();
    } catch (err) {
      this.broken = true;
      throw err;
    }
  }

  get(key: string): Promise<ClientRateLimitInfo | undefined> {
    return this.op(() => this.inner.get(key));
  }

  increment(key: string): Promise<IncrementResponse> {
    return this.op(() => this.inner.increment(key));
  }

  decrement(key: string): Promise<void> {
    return this.op(() => this.inner.decrement(key));
  }

  resetKey(key: string): Promise<void> {
    return this.op(() => this.inner.resetKey(key));
  }
}
