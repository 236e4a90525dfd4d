// The Redis rate-limit store recovers from an outage, including one at start-up, and works on a
// Redis Cluster, where its scripts may be missing on the primary that serves its keys.
import type { Options } from 'express-rate-limit';
import type { RedisReply } from 'rate-limit-redis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisRateLimitStore, rateLimitCommands } from '../../src/backend/redis/rate-limit.js';
import { hashTagged } from '../../src/config-redis.js';
import { newPrefix } from '../support/redis-keys.js';
import { ClusterFixture, RedisFixture } from './harness.js';

const fx = new RedisFixture();
const cluster = new ClusterFixture();
afterAll(() => Promise.all([fx.cleanup(), cluster.cleanup()]), 30_000);

describe('RedisRateLimitStore', () => {
  it('counts hits, and works again after Redis was unreachable (even at init)', async () => {
    const redis = await fx.client('rl');
    let down = true;
    const send = async (...args: string[]): Promise<RedisReply> => {
      if (down) throw new Error('connection is closed');
      const [command, ...rest] = args;
      return (await redis.call(command as string, rest)) as RedisReply;
    };
    const prefix = newPrefix('rl');
    fx.prefixes.add(prefix);
    const store = new RedisRateLimitStore(send, prefix);
    await store.init({ windowMs: 60_000 } as Options);
    await expect(store.increment('k')).rejects.toThrow('connection is closed');
    down = false;
    expect((await store.increment('k')).totalHits).toBe(1);
    expect((await store.increment('k')).totalHits).toBe(2);
    down = true;
    await expect(store.increment('k')).rejects.toThrow();
    down = false;
    expect((await store.increment('k')).totalHits).toBe(3);
    expect((await store.get('k'))?.totalHits).toBe(3);
    await store.decrement('k');
    await store.resetKey('k');
    expect((await store.increment('k')).totalHits).toBe(1);
  });

  it('counts hits on a Redis Cluster, and reloads its scripts where a primary lost them', async () => {
    const cmd = await cluster.client('rl');
    const store = new RedisRateLimitStore(rateLimitCommands(cmd, cluster.errors), `${hashTagged(newPrefix('rl'))}rl:`);
    await store.init({ windowMs: 60_000 } as Options);
    expect((await store.increment('k')).totalHits).toBe(1);
    expect((await store.increment('other')).totalHits).toBe(1);
    // a promoted replica, or a restarted primary, has no scripts cached
    await Promise.all(cmd.nodes('master').map((n) => n.script('FLUSH')));
    expect((await store.increment('k')).totalHits).toBe(2);
    expect((await store.get('k'))?.totalHits).toBe(2);
    await store.resetKey('k');
    expect((await store.increment('k')).totalHits).toBe(1);
  });
});
