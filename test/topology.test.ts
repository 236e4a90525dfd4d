// The Redis topology helpers (test/support/redis-topology.ts) start what they say, with plain ioredis
// clients: a standalone server with credentials and a replica, a Sentinel set that fails over, a
// Cluster that spreads keys and fails over, and sharded pub/sub on that Cluster.
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  pidGone, startCluster, startRedisServer, startSentinelSet, type RedisClusterTopology, type SentinelSet,
} from './support/redis-topology.js';
import { pause, waitFor } from './support/wait.js';

const prefix = `test-topo-${randomBytes(4).toString('hex')}:`;
const TOPOLOGY_MS = 60_000;

/** Runs `fn` until it succeeds (the client is between primaries meanwhile), at most `timeoutMs`. */
async function untilOk<T>(what: string, fn: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  return waitFor(what, async () => {
    try {
      return { v: await fn() };
    } catch {
      return undefined;
    }
  }, timeoutMs, 100).then((r) => r.v);
}

/** Asserts stop() left no process and no temp dir behind. */
function expectGone(t: { pids(): number[]; dir: string }): void {
  expect(t.pids().length).toBeGreaterThan(0);
  expect(t.pids().filter((pid) => !pidGone(pid))).toEqual([]);
  expect(existsSync(t.dir)).toBe(false);
}

describe('startRedisServer', () => {
  it('runs a private server with a password and an ACL user, a replica of it, and stop() leaves nothing', async () => {
    const primary = await startRedisServer({ password: 'pw-default', user: { name: 'hub', password: 'pw-hub' } });
    const replica = await startRedisServer({ password: 'pw-default', user: { name: 'hub', password: 'pw-hub' }, replicaof: primary });
    const clients: Redis[] = [];
    try {
      const viaUrl = new Redis(primary.url, { maxRetriesPerRequest: 1 });
      const anonymous = new Redis({ host: primary.host, port: primary.port, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0 });
      const onReplica = new Redis({ host: replica.host, port: replica.port, ...replica.auth });
      clients.push(viaUrl, anonymous, onReplica);
      anonymous.on('error', () => undefined);
      expect(primary.url).toBe(`redis://hub:pw-hub@127.0.0.1:${primary.port}`);
      expect(await viaUrl.call('ACL', 'WHOAMI')).toBe('hub');
      await anonymous.connect();
      await expect(anonymous.get(`${prefix}k`)).rejects.toThrow(/NOAUTH/);
      await viaUrl.set(`${prefix}k`, 'v1');
      expect(await viaUrl.wait(1, 5_000)).toBe(1);
      expect(await onReplica.get(`${prefix}k`)).toBe('v1');
      expect(await onReplica.config('GET', 'save')).toEqual(['save', '']);
    } finally {
      for (const c of clients) c.disconnect();
      await replica.stop();
      await primary.stop();
    }
    expectGone(primary);
    expectGone(replica);
  });
});

describe('startSentinelSet', () => {
  let set: SentinelSet;
  let client: Redis;
  beforeAll(async () => {
    set = await startSentinelSet({ replicas: 2, sentinels: 3, password: 'pw-sentinel', protectSentinels: true });
    client = new Redis({
      sentinels: set.sentinels, name: set.name, ...set.auth, sentinelPassword: set.sentinelAuth.password,
      maxRetriesPerRequest: 1, retryStrategy: () => 100,
    });
    client.on('error', () => undefined);
  }, TOPOLOGY_MS);
  afterAll(async () => {
    client?.disconnect();
    await set?.stop();
  });

  it('ioredis finds the primary through the sentinels, reads and writes, and WAIT 1 confirms a replica', async () => {
    await client.set(`${prefix}s:a`, 'one');
    expect(await client.get(`${prefix}s:a`)).toBe('one');
    expect(await client.wait(1, 1_000)).toBeGreaterThanOrEqual(1);
    expect(Number(/tcp_port:(\d+)/.exec(await client.info('server'))?.[1])).toBe(set.primary().port);
  });

  it('follows a SIGKILLed primary to the new one, keeping what a replica had confirmed', async () => {
    await client.set(`${prefix}s:kept`, 'before');
    expect(await client.wait(1, 1_000)).toBeGreaterThanOrEqual(1);
    const old = await set.killPrimary();
    expect(pidGone(old.pid)).toBe(true);
    const next = await set.waitForNewPrimary({ minReplicas: 1 });
    expect(next.port).not.toBe(old.port);
    await untilOk('a write on the new primary', () => client.set(`${prefix}s:after`, 'after'));
    expect(Number(/tcp_port:(\d+)/.exec(await client.info('server'))?.[1])).toBe(next.port);
    expect(await client.get(`${prefix}s:kept`)).toBe('before');
    expect(await client.wait(1, 1_000)).toBeGreaterThanOrEqual(1);
  }, TOPOLOGY_MS);

  it('stop() kills every process it started and removes its temp dir', async () => {
    client.disconnect();
    await set.stop();
    expectGone(set);
  });
});

describe('startCluster', () => {
  let topo: RedisClusterTopology;
  const clients: Cluster[] = [];
  const cluster = (opts: ConstructorParameters<typeof Cluster>[1] = {}): Cluster => {
    const c = new Cluster(topo.nodes, { redisOptions: topo.auth, ...opts });
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };
  beforeAll(async () => {
    topo = await startCluster({ primaries: 3, replicasPerPrimary: 1, password: 'pw-cluster' });
  }, TOPOLOGY_MS);
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await topo?.stop();
  });

  it('ioredis Cluster writes keys to the primary of each slot and reads them back', async () => {
    const c = cluster();
    const owners = new Map<number, string>();
    for (let i = 0; i < 40; i++) {
      const key = `${prefix}c:${i}`;
      await c.set(key, `v${i}`);
      const owner = await topo.primaryForSlot(await topo.keySlot(key));
      if (!owners.has(owner.port)) owners.set(owner.port, key);
    }
    expect(owners.size).toBe(3);
    for (const [port, key] of owners) {
      const direct = new Redis({ host: '127.0.0.1', port, ...topo.auth });
      try {
        expect(await direct.get(key)).toBe(`v${key.slice(key.lastIndexOf(':') + 1)}`);
      } finally {
        direct.disconnect();
      }
      expect(await c.get(key)).toBe(`v${key.slice(key.lastIndexOf(':') + 1)}`);
    }
  });

  it('sharded pub/sub: SSUBSCRIBE (shardedSubscribers) receives SPUBLISH and a hash-tagged Lua SPUBLISH', async () => {
    const bus = `{${prefix}}bus`;
    const sub = cluster({ shardedSubscribers: true });
    const pub = cluster();
    const got: string[] = [];
    sub.on('smessageBuffer', (channel: Buffer, message: Buffer) => got.push(`${channel.toString()} ${message.toString()}`));
    await sub.ssubscribe(bus);
    expect(await pub.spublish(bus, 'plain')).toBe(1);
    // The hub's publish step, sharded: every key and the channel carry one hash tag, so one slot.
    const lua = `local id = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '=', 10, id .. '-0', 'd', ARGV[2])
redis.call('SPUBLISH', ARGV[1], id .. ' ' .. ARGV[2])
return id`;
    const id = await pub.eval(lua, 2, `{${prefix}}seq`, `{${prefix}}history`, bus, 'scripted');
    await waitFor('both sharded messages', () => got.length >= 2, 5_000);
    expect(got).toEqual([`${bus} plain`, `${bus} ${String(id)} scripted`]);
  });

  it('after the primary of a key is SIGKILLed, writes and sharded messages flow again once a replica took over', async () => {
    const key = `{${prefix}}failover`;
    const c = cluster();
    const sub = cluster({ shardedSubscribers: true });
    const got: string[] = [];
    sub.on('smessage', (_channel: string, message: string) => got.push(message));
    await sub.ssubscribe(`{${prefix}}bus2`);
    await c.set(key, 'before');
    const { killed } = await topo.killPrimaryOf(key);
    expect(pidGone(killed.pid)).toBe(true);
    const next = await topo.waitForFailover();
    expect(next.port).not.toBe(killed.port);
    await untilOk('a write after the failover', () => c.set(key, 'after'));
    expect(await c.get(key)).toBe('after');
    // The sharded subscriber moves to the new primary by itself; publish markers until one arrives.
    let n = 0;
    await waitFor('a sharded message after the failover', async () => {
      await untilOk('an SPUBLISH', () => c.spublish(`{${prefix}}bus2`, `m${++n}`), 5_000);
      await pause(200);
      return got.length > 0;
    }, 20_000, 0);
    expect(got[0]).toMatch(/^m\d+$/);
  }, TOPOLOGY_MS);

  it('stop() kills every node and removes its temp dir', async () => {
    for (const c of clients.splice(0)) c.disconnect();
    await topo.stop();
    expectGone(topo);
  });
});
