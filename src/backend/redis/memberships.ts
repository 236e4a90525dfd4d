import type { Redis } from 'ioredis';
import type { Memberships } from '../../core/ports.js';
import type { RedisErrors } from './client.js';

/** User-level room memberships are forgotten after this long without a change. */
export const USER_ROOMS_TTL_MS = 30 * 86_400_000;

/** User-level room memberships in Redis: one set per user (`<prefix>ur:<userId>`). */
export class RedisMemberships implements Memberships {
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly errors: RedisErrors) {}

  private key(userId: string): string {
    return `${this.prefix}ur:${userId}`;
  }

  list(userId: string): Promise<string[]> {
    return this.errors.guard('user-rooms', this.redis.smembers(this.key(userId)), { userId });
  }

  async add(userId: string, room: string): Promise<void> {
    const key = this.key(userId);
    await this.errors.guard('user-rooms-add', this.redis.multi().sadd(key, room).pexpire(key, USER_ROOMS_TTL_MS).exec(), { userId, room });
  }

  async remove(userId: string, room: string): Promise<void> {
    await this.errors.guard('user-rooms-remove', this.redis.srem(this.key(userId), room), { userId, room });
  }
}
