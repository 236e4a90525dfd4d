// Redis for the bench's cluster scenarios: a unique key prefix per run on the machine's Redis,
// deleted afterwards, or a private redis-server of the scenario's own.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { freePort, sleep, track } from './harness.mjs';
import { pidsByName } from './proc.mjs';

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

/**
 * A Redis for one scenario: a private redis-server on a free port (no persistence; its CPU and
 * memory are the hub's alone), or with `shared` (or when redis-server is not installed) the
 * machine's 127.0.0.1:6379 under a fresh key prefix deleted by cleanupRedis().
 * → {url, prefix, pids(), usedMemory(), flush(), stop(), private}
 */
export async function scenarioRedis({ shared = false } = {}) {
  const { default: Redis } = await import('ioredis');
  const privateOk = !shared && spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
  let cp = null, port = 6379;
  if (privateOk) {
    port = await freePort();
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--protected-mode', 'no', '--loglevel', 'warning', '--maxclients', '10000'];
    // Not pinned, like the machine's Redis: the orchestrator's own core-1 affinity is not inherited.
    cp = track(spawn('taskset', ['-c', `0-${os.cpus().length - 1}`, 'redis-server', ...args], { stdio: 'ignore' }));
  } else if (!(await redisUp())) {
    throw new Error('no redis-server binary and Redis at 127.0.0.1:6379 is not reachable');
  }
  const url = `redis://127.0.0.1:${port}`;
  const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  admin.on('error', () => { /* answered by the connect loop below, or by a failing command */ });
  for (let i = 0; ; i++) {
    try { await admin.connect(); await admin.ping(); break; } catch (e) {
      if (i >= 50) { cp?.kill('SIGKILL'); throw new Error(`redis-server on ${port} did not answer: ${e.message}`); }
      admin.disconnect();
      await sleep(100);
    }
  }
  return {
    url, private: privateOk, pid: cp?.pid ?? null,
    /** A key prefix for one run (deleted afterwards when the Redis is shared). */
    prefix: () => (privateOk ? `bench-${randomBytes(4).toString('hex')}:` : newRedisPrefix()),
    /** Pids whose CPU counts as Redis's: the private server, or every redis-server on the machine. */
    pids: () => (cp ? [cp.pid] : pidsByName('redis-server')),
    /** INFO memory used_memory in bytes. */
    async usedMemory() {
      const m = /^used_memory:(\d+)/m.exec(await admin.info('memory'));
      return m ? Number(m[1]) : null;
    },
    async stop() {
      admin.disconnect();
      if (cp) { cp.kill('SIGKILL'); await new Promise((r) => (cp.exitCode !== null || cp.signalCode !== null ? r() : cp.once('exit', r))); }
      else await cleanupRedis();
    },
  };
}
