// An idempotency answer stored by the publish script itself, on Redis and on a Redis Cluster: a
// run whose process dies, or whose reply is lost, right after its events were stored leaves the
// answer behind, so the retry answers it instead of publishing again.
import { afterAll, describe, expect, it } from 'vitest';
import type { EventDraft } from '../../src/core/events.js';
import { ANSWER_ID_SLOT } from '../../src/core/ports.js';
import { hashTagged } from '../../src/config-redis.js';
import { newPrefix } from '../support/redis-keys.js';
import { ClusterFixture, RedisFixture, brokerFactories, idempotencyFactories } from './harness.js';

const fx = new RedisFixture();
const cluster = new ClusterFixture();
afterAll(() => Promise.all([fx.cleanup(), cluster.cleanup()]), 30_000);

const draft = (data: unknown): EventDraft => ({
  type: 'idem', data, room: null, userId: null, connectionId: null, filters: null, sender: 'svc', ownerUserId: null,
});

const stores = idempotencyFactories(fx, cluster).filter((f) => f.distributed);
const brokers = brokerFactories(fx, cluster).filter((f) => f.distributed);

describe.each(stores.map((store) => ({ name: store.name, store, broker: brokers.find((b) => b.name === store.name)! })))(
  'idempotent publishing on $name',
  ({ store: storeFactory, broker: brokerFactory }) => {
    it('answers a retry from the answer the publish script stored, when the first run never got its reply', async () => {
      const shared = newPrefix('idem-publish');
      fx.prefixes.add(shared);
      const [store, broker, retryStore] = [await storeFactory.make(shared), await brokerFactory.make(100, shared), await storeFactory.make(shared)];
      let stored: string[] = [];
      // The first run stores a batch with its answer, then its reply is lost (as when the connection
      // drops after the script ran, or the process dies there).
      await expect(store.once('key', async (record) => {
        expect(record).toBeDefined();
        stored = (await broker.publish([draft(1), draft(2)], record!({ ids: [ANSWER_ID_SLOT, ANSWER_ID_SLOT] }))).map((ev) => ev.id);
        throw new Error('reply lost');
      })).rejects.toThrow('reply lost');
      expect(stored).toHaveLength(2);
      // The retry, on another process, gets the stored answer; its run never starts.
      let reruns = 0;
      const answer = await retryStore.once('key', async () => {
        reruns++;
        return { ids: [] as string[] };
      });
      expect(answer).toEqual({ ids: stored });
      expect(reruns).toBe(0);
      const kept = (await broker.historyAfter(null, 10)).events.map((ev) => ev.id);
      expect(kept).toEqual(stored);
      await Promise.all([store.close(), retryStore.close(), broker.close()]);
    });

    it('stores an answer only while the key still holds the run\'s own claim', async () => {
      const shared = newPrefix('idem-record');
      fx.prefixes.add(shared);
      const prefix = brokerFactory.name === 'redis-cluster' ? hashTagged(shared) : shared;
      const broker = await brokerFactory.make(100, shared);
      const admin = brokerFactory.name === 'redis-cluster' ? await cluster.client('admin') : await fx.client('admin');
      const key = `${prefix}answer`;
      await admin.set(key, 'my-claim');
      const [ev] = await broker.publish([draft('a')], { key, expected: 'my-claim', parts: ['<', '>'], ttlMs: 60_000 });
      expect(await admin.get(key)).toBe(`<${ev!.id}>`);
      expect(await admin.pttl(key)).toBeGreaterThan(50_000);
      // Another run's claim (or a lapsed one) is left alone; the event is stored all the same.
      await admin.set(key, 'their-claim');
      const [other] = await broker.publish([draft('b')], { key, expected: 'my-claim', parts: ['<', '>'], ttlMs: 60_000 });
      expect(await admin.get(key)).toBe('their-claim');
      expect((await broker.historyAfter(ev!.id, 10)).events.map((e) => e.id)).toEqual([other!.id]);
      await broker.close();
    });
  },
);
