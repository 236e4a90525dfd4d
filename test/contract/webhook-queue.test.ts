// One contract for the webhook queue as presence feeds it: memory (one process), Redis and a Redis
// Cluster (the presence scripts append to a stream), run against each.
import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryPresence } from '../../src/backend/memory/presence.js';
import { MemoryWebhookQueue } from '../../src/backend/memory/webhook-queue.js';
import { RedisPresence } from '../../src/backend/redis/presence.js';
import { RedisWebhookQueue, webhookSpec } from '../../src/backend/redis/webhook-queue.js';
import type { Connection } from '../../src/core/connection.js';
import { ConnectionManager } from '../../src/core/connection-manager.js';
import { Counters } from '../../src/core/counters.js';
import type { Presence } from '../../src/core/ports.js';
import { WEBHOOK_TYPES, type WebhookQueue, type WebhookType } from '../../src/core/webhooks.js';
import { WebhookMetrics } from '../../src/observability/webhook-metrics.js';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher.js';
import { WebhookSender } from '../../src/webhooks/sender.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';
import { hashTagged } from '../../src/config-redis.js';
import { fakeConnection } from '../support/fake-sink.js';
import { newPrefix } from '../support/redis-keys.js';
import { waitFor } from '../support/wait.js';
import { ClusterFixture, RedisFixture, silentLogger } from './harness.js';

const fx = new RedisFixture();
const cluster = new ClusterFixture();
afterAll(() => Promise.all([fx.cleanup(), cluster.cleanup()]), 30_000);

/** A presence node whose transitions feed a webhook queue. */
interface QueueNode {
  queue: WebhookQueue;
  open(conn: Connection): Promise<unknown>;
  close(conn: Connection): Promise<unknown>;
  join(conn: Connection, room: string): Promise<unknown>;
  leave(conn: Connection, room: string): Promise<unknown>;
  /** Gives the delivery lease to another process (Redis only: one process always holds it). */
  loseLease?(): Promise<void>;
}

interface QueueFactory {
  name: string;
  distributed: boolean;
  make(types?: readonly WebhookType[], capacity?: number): Promise<QueueNode>;
}

// As the Hub does: the manager changes first, then presence records it with the local transition.
function node(manager: ConnectionManager, presence: Presence, queue: WebhookQueue, loseLease?: () => Promise<void>): QueueNode {
  return {
    queue, ...(loseLease ? { loseLease } : {}),
    open: (conn) => presence.opened(conn, 1000, manager.add(conn)),
    close: (conn) => presence.closed(conn, manager.remove(conn)),
    join: (conn, room) => presence.joined(conn, room, manager.join(conn, room) === 'edge'),
    leave: (conn, room) => presence.left(conn, room, manager.leave(conn, room) === 'edge'),
  };
}

/** The Redis factory, on the machine's Redis or on a Cluster (hash-tagged prefix). */
function onRedis(name: string, target: RedisFixture | ClusterFixture): QueueFactory {
  return {
    name, distributed: true,
    make: async (types = WEBHOOK_TYPES, capacity) => {
      const given = newPrefix('webhooks');
      if (target instanceof RedisFixture) target.prefixes.add(given);
      const prefix = target instanceof ClusterFixture ? hashTagged(given) : given;
      const counters = new Counters();
      const manager = new ConnectionManager(counters);
      const client = await target.client('webhooks');
      const presence = new RedisPresence(client, manager, {
        prefix, nodeId: `n-${randomBytes(3).toString('hex')}`, heartbeatMs: 1000, startedAt: Date.now(), counters,
        errors: target.errors, logger: silentLogger, userRoomsTtlMs: 60_000, announceMaxUsers: 100, webhookSpec: webhookSpec(types, capacity),
      });
      await presence.start();
      const lease = `${prefix}lease:webhooks`;
      await client.set(lease, 'this-run');
      return node(manager, presence, new RedisWebhookQueue(client, prefix, lease, 'this-run', target.errors), async () => {
        await client.set(lease, 'another-run');
      });
    },
  };
}

const factories: QueueFactory[] = [
  {
    name: 'memory', distributed: false,
    make: async (types = WEBHOOK_TYPES, capacity) => {
      const counters = new Counters();
      const manager = new ConnectionManager(counters);
      const queue = new MemoryWebhookQueue(manager, types, capacity);
      return node(manager, new MemoryPresence(manager, counters, 'mem', Date.now(), 100, undefined, queue), queue);
    },
  },
  onRedis('redis', fx),
  onRedis('redis-cluster', cluster),
];

const lines = async (q: WebhookQueue): Promise<string[]> =>
  (await q.peek(1000)).map((e) => [e.type, e.roomId, e.userId].filter(Boolean).join(' '));

describe.each(factories)('webhook queue contract: $name', (factory) => {
  it('records each room and user transition once, in order, never for a user: room', async () => {
    const n = await factory.make();
    const a1 = fakeConnection('alice', ['user:alice', 'lobby']);
    const a2 = fakeConnection('alice', ['user:alice', 'lobby']);
    const b1 = fakeConnection('bob', ['user:bob']);
    for (const c of [a1, a2, b1]) await n.open(c);
    await n.join(b1, 'lobby');
    await n.close(a1);
    await n.close(a2);
    await n.leave(b1, 'lobby');
    expect(await lines(n.queue)).toEqual([
      'room.occupied lobby', 'presence.join lobby alice', 'presence.join lobby bob',
      'presence.leave lobby alice', 'presence.leave lobby bob', 'room.vacated lobby',
    ]);
    const events = await n.queue.peek(1000);
    for (const e of events) expect(new Date(e.timestamp).toISOString()).toBe(e.timestamp);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });

  it('records only the configured types', async () => {
    const n = await factory.make(['presence.leave']);
    const c = fakeConnection('carol', ['user:carol', 'den']);
    await n.open(c);
    await n.close(c);
    expect(await lines(n.queue)).toEqual(['presence.leave den carol']);
  });

  it('acknowledging removes the events up to and including that id', async () => {
    const n = await factory.make();
    const c = fakeConnection('dave', ['user:dave', 'r1', 'r2']);
    await n.open(c);
    const [, second, ...rest] = await n.queue.peek(10);
    expect(rest).toHaveLength(2);
    expect(await n.queue.ack(second!.id)).toBe(true);
    expect(await n.queue.peek(10)).toEqual(rest);
    expect(await n.queue.ack(rest[1]!.id)).toBe(true);
    expect(await n.queue.peek(10)).toEqual([]);
  });

  it('when full, drops the oldest pending events and counts them once', async () => {
    const n = await factory.make(WEBHOOK_TYPES, 3);
    await n.open(fakeConnection('erin', ['user:erin', 'q0', 'q1', 'q2', 'q3', 'q4']));
    expect(await lines(n.queue)).toEqual(['presence.join q3 erin', 'room.occupied q4', 'presence.join q4 erin']);
    expect(await n.queue.takeDropped()).toBe(7);
    expect(await n.queue.takeDropped()).toBe(0);
  });

  it('delivered through a dispatcher, the survivors of an overflow arrive and the drops are counted', async () => {
    const secret = 'webhook-secret-of-the-tests-0123456789abcdef';
    const receiver = await WebhookReceiver.start(secret);
    const registry = new Registry();
    const n = await factory.make(WEBHOOK_TYPES, 3);
    await n.open(fakeConnection('gus', ['user:gus', 's0', 's1', 's2', 's3', 's4']));
    const dispatcher = new WebhookDispatcher(n.queue, new WebhookSender(receiver.url, secret), {
      retryForMs: 60_000, observer: new WebhookMetrics(registry), logger: silentLogger,
    });
    dispatcher.start();
    try {
      const value = async (name: string): Promise<number> => (await registry.getSingleMetric(name)!.get()).values[0]?.value ?? 0;
      await waitFor('three delivered', async () => (await value('roomcast_webhook_delivered_total')) === 3, 5000);
      expect(receiver.summary).toEqual(['presence.join s3 gus', 'room.occupied s4', 'presence.join s4 gus']);
      expect(await value('roomcast_webhook_dropped_total')).toBe(7);
      expect(await n.queue.peek(10)).toEqual([]);
    } finally {
      await dispatcher.stop(0);
      await receiver.close();
    }
  });

  it.skipIf(!factory.distributed)('refuses an acknowledgement from a process that lost the delivery lease', async () => {
    const n = await factory.make();
    const c = fakeConnection('finn', ['user:finn', 'hut']);
    await n.open(c);
    const [first] = await n.queue.peek(10);
    await n.loseLease!();
    expect(await n.queue.ack(first!.id)).toBe(false);
    expect(await lines(n.queue)).toEqual(['room.occupied hut', 'presence.join hut finn']);
  });
});
