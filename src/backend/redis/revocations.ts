import type { ChainableCommander } from 'ioredis';
import type { Revocations } from '../../core/ports.js';
import type { RedisClient, RedisErrors } from './client.js';

/** Runs a MULTI; the replies, or the first command's error. */
async function execAll(multi: ChainableCommander): Promise<unknown[]> {
  const replies = (await multi.exec()) ?? [];
  return replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

/**
 * Token revocations in one sorted set (`<prefix>revoked`): member the user id, score its `before`.
 * `ZADD GT` keeps the latest `before` of a user; entries older than TOKEN_MAX_TTL are swept by
 * score on each write and read (one key, so it stays in one slot of a Redis Cluster). Processes
 * read it at start and every few seconds, never per request.
 */
export class RedisRevocations implements Revocations {
  private readonly key: string;

  /** `keepSec`: how long after its `before` an entry is kept (TOKEN_MAX_TTL). */
  constructor(private readonly redis: RedisClient, prefix: string, private readonly keepSec: number, private readonly errors: RedisErrors) {
    this.key = `${prefix}revoked`;
  }

  /** Scores below this are no longer needed: every token they refuse has expired. */
  private oldest(): string {
    return `(${Math.floor(Date.now() / 1000 - this.keepSec)}`;
  }

  async revoke(userId: string, beforeSec: number): Promise<void> {
    await this.errors.guard('revoke', execAll(this.redis.multi()
      .zadd(this.key, 'GT', beforeSec, userId)
      .zremrangebyscore(this.key, '-inf', this.oldest())), { userId });
  }

  async list(): Promise<Map<string, number>> {
    const [, flat] = await this.errors.guard('revocations', execAll(this.redis.multi()
      .zremrangebyscore(this.key, '-inf', this.oldest())
      .zrange(this.key, 0, -1, 'WITHSCORES')));
    const pairs = flat as string[];
    const out = new Map<string, number>();
    for (let i = 0; i + 1 < pairs.length; i += 2) out.set(pairs[i] as string, Number(pairs[i + 1]));
    return out;
  }
}
