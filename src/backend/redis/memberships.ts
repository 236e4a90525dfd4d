import type { Redis } from 'ioredis';
import type { Memberships } from '../../core/ports.js';
import type { RedisErrors } from './client.js';
import type { RedisPresence } from './presence.js';

/**
 * User-level room memberships in Redis: one set per user (`<prefix>ur:<userId>`). Its expiry
 * (USER_ROOMS_TTL after the user's last stream anywhere) is kept by the presence scripts, which
 * know when a user's first stream opens and its last one closes; so changes run as presence scripts too.
 */
export class RedisMemberships implements Memberships {
  constructor(
    private readonly redis: Redis,
    private readonly presence: RedisPresence,
    private readonly prefix: string,
    private readonly userRoomsTtlMs: number,
    private readonly errors: RedisErrors,
  ) {}

  list(userId: string): Promise<string[]> {
    return this.errors.guard('user-rooms', this.redis.smembers(`${this.prefix}ur:${userId}`), { userId });
  }

  async add(userId: string, room: string): Promise<void> {
    await this.presence.run('user-rooms-add', 'roomcastPresenceUserRoom', [userId, room, '1', this.userRoomsTtlMs], { userId, room });
  }

  async remove(userId: string, room: string): Promise<void> {
    await this.presence.run('user-rooms-remove', 'roomcastPresenceUserRoom', [userId, room, '0', this.userRoomsTtlMs], { userId, room });
  }
}
