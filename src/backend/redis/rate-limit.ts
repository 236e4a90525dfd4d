import type { ClientRateLimitInfo, IncrementResponse, Options, Store } from 'express-rate-limit';
import { Cluster } from 'ioredis';
import { RedisStore, type RedisReply, type SendCommandFn } from 'rate-limit-redis';
import type { RedisClient, RedisErrors } from './client.js';

/**
 * rate-limit-redis's way to reach Redis, through one of our clients. Failures become 503s, except
 * NOSCRIPT (a restarted Redis, a promoted replica), which RedisStore handles itself by reloading its
 * scripts. On a Cluster a script is loaded on every primary: its EVALSHA runs wherever the key's slot is.
 */
export function rateLimitCommands(cmd: RedisClient, errors: RedisErrors): SendCommandFn {
  return async (...args: string[]): Promise<RedisReply> => {
    const [command, ...rest] = args as [string, ...string[]];
    try {
      if (cmd instanceof Cluster && command.toUpperCase() === 'SCRIPT') {
        return (await Promise.all(cmd.nodes('master').map((node) => node.call(command, rest))))[0] as RedisReply;
      }
      return (await cmd.call(command, rest)) as RedisReply;
    } catch (err) {
      if (err instanceof Error && /^NOSCRIPT/.test(err.message)) throw err;
      return errors.guard('rate-limit', Promise.reject(err), { command });
    }
  };
}

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
