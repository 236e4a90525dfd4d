// One contract for every IdempotencyStore: memory (one process), Redis and a Redis Cluster (hub-wide), run against each.
import { afterAll, describe, expect, it } from 'vitest';
import { newPrefix } from '../support/redis-keys.js';
import { ClusterFixture, RedisFixture, idempotencyFactories } from './harness.js';

const fx = new RedisFixture();
const cluster = new ClusterFixture();
afterAll(() => Promise.all([fx.cleanup(), cluster.cleanup()]), 30_000);

describe.each(idempotencyFactories(fx, cluster))('IdempotencyStore contract: $name', (factory) => {
  it('runs once per key and answers repeats with the first answer', async () => {
    const store = await factory.make();
    let runs = 0;
    const run = async (): Promise<{ id: string; recipients: number }> => ({ id: String(++runs), recipients: 2 });
    expect(await store.once('k1', run)).toEqual({ id: '1', recipients: 2 });
    expect(await store.once('k1', run)).toEqual({ id: '1', recipients: 2 });
    expect(await store.once('k2', run)).toEqual({ id: '2', recipients: 2 });
    expect(runs).toBe(2);
    await store.close();
  });

  it('runs concurrent repeats once', async () => {
    const store = await factory.make();
    let runs = 0;
    const run = async (): Promise<{ ids: string[] }> => {
      runs++;
      await new Promise((r) => setTimeout(r, 50));
      return { ids: ['a', 'b'] };
    };
    const answers = await Promise.all([store.once('k', run), store.once('k', run), store.once('k', run)]);
    expect(answers).toEqual([{ ids: ['a', 'b'] }, { ids: ['a', 'b'] }, { ids: ['a', 'b'] }]);
    expect(runs).toBe(1);
    await store.close();
  });

  it('forgets a key whose run failed', async () => {
    const store = await factory.make();
    await expect(store.once('k', async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await store.once('k', async () => 'second')).toBe('second');
    await store.close();
  });

  it.runIf(factory.distributed)('holds across processes', async () => {
    const shared = newPrefix('idem-shared');
    const a = await factory.make(shared);
    const b = await factory.make(shared);
    let runs = 0;
    const run = async (): Promise<{ id: string }> => {
      runs++;
      await new Promise((r) => setTimeout(r, 100));
      return { id: 'first' };
    };
    const [x, y] = await Promise.all([a.once('key', run), b.once('key', run)]);
    expect([x, y]).toEqual([{ id: 'first' }, { id: 'first' }]);
    expect(await b.once('key', run)).toEqual({ id: 'first' });
    expect(runs).toBe(1);
    await a.close();
    await b.close();
  });
});
