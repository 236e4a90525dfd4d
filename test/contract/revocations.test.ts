// One contract for every Revocations store — memory (one process), Redis and a Redis Cluster
// (many) — and for the per-process copy (RevocationList) read from it.
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryRevocations } from '../../src/backend/memory/revocations.js';
import { RedisRevocations } from '../../src/backend/redis/revocations.js';
import type { Revocations } from '../../src/core/ports.js';
import { RevocationList } from '../../src/core/revocations.js';
import { newPrefix } from '../support/redis-keys.js';
import { hashTagged } from '../../src/config-redis.js';
import { ClusterFixture, RedisFixture } from './harness.js';

const fx = new RedisFixture();
const cluster = new ClusterFixture();
afterAll(() => Promise.all([fx.cleanup(), cluster.cleanup()]), 30_000);

/** How long the suites keep a revocation after its `before`, in seconds. */
const KEEP_SEC = 3600;
const nowSec = (): number => Math.floor(Date.now() / 1000);

interface RevocationsFactory {
  name: string;
  distributed: boolean;
  /** A store; with `shared`, another one on the same Redis keys. */
  make(shared?: string): Promise<Revocations>;
}

const factories: RevocationsFactory[] = [
  { name: 'memory', distributed: false, make: async () => new MemoryRevocations(KEEP_SEC) },
  {
    name: 'redis', distributed: true,
    make: async (shared) => {
      const prefix = shared ?? newPrefix('revocations');
      fx.prefixes.add(prefix);
      return new RedisRevocations(await fx.client('revocations'), prefix, KEEP_SEC, fx.errors);
    },
  },
  {
    name: 'redis-cluster', distributed: true,
    make: async (shared) => new RedisRevocations(await cluster.client('revocations'), hashTagged(shared ?? newPrefix('revocations')), KEEP_SEC, cluster.errors),
  },
];

describe.each(factories)('Revocations contract: $name', (factory) => {
  it('starts empty and lists what was revoked', async () => {
    const store = await factory.make();
    expect(await store.list()).toEqual(new Map());
    const t = nowSec();
    await store.revoke('alice', t);
    await store.revoke('bob', t - 5);
    expect(await store.list()).toEqual(new Map([['alice', t], ['bob', t - 5]]));
  });

  it('keeps the latest `before` of a user: an earlier one changes nothing', async () => {
    const store = await factory.make();
    const t = nowSec();
    await store.revoke('carol', t - 10);
    await store.revoke('carol', t);
    await store.revoke('carol', t - 20);
    expect((await store.list()).get('carol')).toBe(t);
  });

  it('forgets a revocation once KEEP after its `before` has passed', async () => {
    const store = await factory.make();
    const t = nowSec();
    await store.revoke('dan', t - KEEP_SEC - 5);
    await store.revoke('eve', t - KEEP_SEC + 60);
    expect(await store.list()).toEqual(new Map([['eve', t - KEEP_SEC + 60]]));
  });

  it.runIf(factory.distributed)('is shared by every process on the same store', async () => {
    const prefix = newPrefix('revocations-shared');
    const a = await factory.make(prefix);
    const b = await factory.make(prefix);
    const t = nowSec();
    await a.revoke('fred', t);
    expect((await b.list()).get('fred')).toBe(t);
  });

  it('feeds a per-process copy that refuses tokens issued at or before `before`, or without iat', async () => {
    const store = await factory.make();
    const list = new RevocationList(store, KEEP_SEC);
    const t = nowSec();
    await store.revoke('gail', t - 30);
    expect(list.refuses('gail', t - 100)).toBe(false);
    expect(await list.load()).toEqual([{ userId: 'gail', before: t - 30 }]);
    expect(await list.load()).toEqual([]);
    expect(list.refuses('gail', t - 100)).toBe(true);
    expect(list.refuses('gail', t - 30)).toBe(true);
    expect(list.refuses('gail', undefined)).toBe(true);
    expect(list.refuses('gail', t - 29)).toBe(false);
    expect(list.refuses('other', t - 100)).toBe(false);
    // recorded through the copy: in the store for every process, and applied here at once
    await list.record('hank', t);
    expect(list.refuses('hank', t)).toBe(true);
    expect((await store.list()).get('hank')).toBe(t);
    // a copy ignores what it no longer needs to keep
    expect(list.apply('ivy', t - KEEP_SEC - 1)).toBe(false);
    expect(list.refuses('ivy', undefined)).toBe(false);
  });
});
