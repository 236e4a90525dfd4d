// Redis for the bench's cluster scenarios: a unique key prefix per run, deleted afterwards.
import { randomBytes } from 'node:crypto';

const redisPrefixes = [];
export function newRedisPrefix() {
  const p = `bench-${randomBytes(4).toString('hex')}:`;
  redisPrefixes.push(p);
  return p;
}

export async function cleanupRedis() {
  if (redisPrefixes.length === 0) return 0;
  const { default: Redis } = await import('ioredis');
  const r = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  let deleted = 0;
  try {
    await r.connect();
    while (redisPrefixes.length) {
      const prefix = redisPrefixes.pop();
      let cursor = '0';
      for (let i = 0; i < 100_000; i++) {
        const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        if (keys.length) deleted += await r.unlink(...keys);
        cursor = next;
        if (cursor === '0') break;
      }
    }
  } finally {
    r.disconnect();
  }
  return deleted;
}

export async function redisUp() {
  const { default: Redis } = await import('ioredis');
  const r = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 });
  try { await r.connect(); return (await r.ping()) === 'PONG'; } catch { return false; } finally { r.disconnect(); }
}
