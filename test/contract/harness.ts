// Builds the memory and Redis implementations of Broker, presence and IdempotencyStore for
// the shared contract suites: on the machine's Redis (each instance with its own key prefix,
// deleted in cleanup()) and on a Redis Cluster the suite starts (stopped in cleanup()).
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { hashTagged } from '../../src/config-redis.js';
import { MemoryBroker } from '../../src/backend/memory/broker.js';
import { MemoryIdempotency } from '../../src/backend/memory/idempotency.js';
import { MemoryMemberships } from '../../src/backend/memory/memberships.js';
import { MemoryPresence } from '../../src/backend/memory/presence.js';
import { RedisBroker } from '../../src/backend/redis/broker.js';
import { ChannelBus, ShardBus } from '../../src/backend/redis/bus.js';
import {
  RedisErrors, closeRedis, connectRedis, createDeploymentClient, createRedisClient, failFastOptions,
} from '../../src/backend/redis/client.js';
import { RedisIdempotency } from '../../src/backend/redis/idempotency.js';
import { RedisMemberships } from '../../src/backend/redis/memberships.js';
import { RedisPresence } from '../../src/backend/redis/presence.js';
import type { Connection } from '../../src/core/connection.js';
import type { EventDraft, HubEvent } from '../../src/core/events.js';
import { ConnectionManager } from '../../src/core/connection-manager.js';
import { Counters } from '../../src/core/counters.js';
import type { Broker, Directory, HubCensus, IdempotencyStore, Memberships, Presence } from '../../src/core/ports.js';
import { REDIS_URL, deleteKeys, newPrefix } from '../support/redis-keys.js';
import { startCluster, type RedisClusterTopology } from '../support/redis-topology.js';

/** USER_ROOMS_TTL of the contract suites' presence nodes, in ms. */
const USER_ROOMS_TTL_MS = 60_000;
/** PRESENCE_EVENTS_MAX_USERS of the contract suites' presence nodes, unless a case sets its own. */
const ANNOUNCE_MAX_USERS = 100;

/** A logger that drops everything (the implementations log their Redis trouble). */
export const silentLogger = { debug() {}, info() {}, warn() {}, error() {}, fatal() {} };

/** Publishes one event on its own (a batch of one) and answers it. */
export async function publishOne(broker: Broker, draft: EventDraft): Promise<HubEvent> {
  const [ev] = await broker.publish([draft]);
  return ev!;
}

/** Redis clients and prefixes made by one suite, all released by cleanup(). */
export class RedisFixture {
  readonly clients: Redis[] = [];
  readonly prefixes = new Set<string>();
  readonly errors = new RedisErrors(silentLogger);

  async client(name = 'test', extra: RedisOptions = {}): Promise<Redis> {
    const c = createRedisClient(REDIS_URL, name, this.errors, silentLogger, extra);
    this.clients.push(c);
    await connectRedis(c, 5000);
    return c;
  }

  async cleanup(): Promise<void> {
    const admin = await this.client('cleanup');
    for (const prefix of this.prefixes) await deleteKeys(admin, prefix);
    await Promise.all(this.clients.map((c) => closeRedis(c)));
    this.clients.length = 0;
  }
}


/**
 * A Redis Cluster for one suite — 3 primaries without replicas (the contract needs no failover) —
 * started on first use; its clients and processes are released by cleanup().
 */
export class ClusterFixture {
  readonly clients: Cluster[] = [];
  readonly errors = new RedisErrors(silentLogger);
  private topology: Promise<RedisClusterTopology> | undefined;

  /** A fail-fast Cluster client, as the hub makes them. */
  async client(name = 'test'): Promise<Cluster> {
    const t = await (this.topology ??= startCluster({ primaries: 3, replicasPerPrimary: 0 }));
    const c = createDeploymentClient({
      form: 'cluster', nodes: t.nodes, auth: { username: undefined, password: undefined, tls: false }, waitReplicas: 0, waitTimeoutMs: 1000,
    }, name, this.errors, silentLogger) as Cluster;
    this.clients.push(c);
    await connectRedis(c, 10_000);
    return c;
  }

  /** The hub's bus on this Cluster (a shard subscription of its own, through `cmd`'s slot map). */
  bus(cmd: Cluster): ShardBus {
    return new ShardBus(cmd, failFastOptions('test-bus'), this.errors, silentLogger);
  }

  /** Every key matching `pattern`, on every primary. */
  async keys(pattern: string): Promise<string[]> {
    const admin = await this.client('keys');
    return (await Promise.all(admin.nodes('master').map((n) => n.keys(pattern)))).flat();
  }

  /** Cuts every pub/sub connection on every primary (the buses reconnect by themselves). */
  async cutSubscriptions(): Promise<void> {
    const admin = await this.client('cut');
    await Promise.all(admin.nodes('master').map((n) => n.client('KILL', 'TYPE', 'pubsub')));
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.clients.map((c) => closeRedis(c)));
    this.clients.length = 0;
    await (await this.topology?.catch(() => undefined))?.stop();
  }
}

/** Key access to the store a Redis factory runs on (for tests that damage it on purpose). */
export interface StoreAccess {
  keys(pattern: string): Promise<string[]>;
  del(keys: string[]): Promise<void>;
}

function storeAccess(fx: RedisFixture | ClusterFixture): StoreAccess {
  return {
    keys: (pattern) => (fx instanceof ClusterFixture ? fx.keys(pattern) : fx.client('keys').then((c) => c.keys(pattern))),
    // One slot per prefix, so one DEL (the Cluster client routes it there).
    del: async (keys) => {
      if (keys.length > 0) await (await fx.client('del')).del(...keys);
    },
  };
}

export interface BrokerFactory {
  name: string;
  /** A broker; with `shared`, another broker on the same store (Redis only). */
  make(capacity: number, shared?: string): Promise<Broker>;
  distributed: boolean;
  /** Cuts every bus subscription on the store (Cluster only: the standalone suite cuts one itself). */
  cutSubscriptions?(): Promise<void>;
}

export function brokerFactories(fx: RedisFixture, cluster?: ClusterFixture): BrokerFactory[] {
  const onCluster: BrokerFactory[] = cluster === undefined ? [] : [{
    name: 'redis-cluster', distributed: true,
    cutSubscriptions: () => cluster.cutSubscriptions(),
    make: async (capacity, shared) => {
      const prefix = hashTagged(shared ?? newPrefix('broker'));
      const cmd = await cluster.client('cmd');
      return new RedisBroker(cmd, cluster.bus(cmd), { prefix, historySize: capacity, errors: cluster.errors, logger: silentLogger });
    },
  }];
  return [
    { name: 'memory', distributed: false, make: async (capacity) => new MemoryBroker(capacity) },
    {
      name: 'redis', distributed: true,
      make: async (capacity, shared) => {
        const prefix = shared ?? newPrefix('broker');
        fx.prefixes.add(prefix);
        const cmd = await fx.client('cmd');
        const sub = await fx.client('sub');
        return new RedisBroker(cmd, new ChannelBus(sub, fx.errors), { prefix, historySize: capacity, errors: fx.errors, logger: silentLogger });
      },
    },
    ...onCluster,
  ];
}

/** What the presence contract suite checks: every presence port of one implementation. */
export type PresenceStore = Presence & Directory & HubCensus & { close?(): Promise<void> };

export interface PresenceNode {
  manager: ConnectionManager;
  /** The key prefix in use (Redis only). */
  prefix: string;
  presence: PresenceStore;
  memberships: Memberships;
  nodeId: string;
  /** Ends the node as a crash would: its Redis connection drops and it stops beating (Redis only). */
  crash(): void;
  open(conn: Connection): Promise<string[]>;
  close(conn: Connection): Promise<string[]>;
  join(conn: Connection, room: string): Promise<boolean>;
  leave(conn: Connection, room: string): Promise<boolean>;
}

export interface PresenceFactory {
  name: string;
  distributed: boolean;
  /** Key access to the store (Redis only). */
  store?: StoreAccess;
  make(opts?: { shared?: string; nodeId?: string; heartbeatMs?: number; announceMaxUsers?: number; onGhostLeft?: (room: string, userId: string) => Promise<void> }): Promise<PresenceNode>;
}

function node(manager: ConnectionManager, presence: PresenceStore, memberships: Memberships, nodeId: string, prefix = '', crash: () => void = () => {}): PresenceNode {
  // As the Hub does: the manager changes first, then presence records it with the local transition.
  return {
    manager, presence, memberships, nodeId, prefix, crash,
    open: (conn) => presence.opened(conn, 1000, manager.add(conn)).then((firsts) => firsts ?? []),
    close: (conn) => presence.closed(conn, manager.remove(conn)),
    join: (conn, room) => presence.joined(conn, room, manager.join(conn, room) === 'edge'),
    leave: (conn, room) => presence.left(conn, room, manager.leave(conn, room) === 'edge'),
  };
}

export function presenceFactories(fx: RedisFixture, cluster?: ClusterFixture): PresenceFactory[] {
  const onRedis = (name: string, target: RedisFixture | ClusterFixture): PresenceFactory => ({
    name, distributed: true, store: storeAccess(target),
    make: async (opts = {}) => {
      const given = opts.shared ?? newPrefix('presence');
      if (target instanceof RedisFixture) target.prefixes.add(given);
      const prefix = target instanceof ClusterFixture ? hashTagged(given) : given;
      const counters = new Counters();
      const manager = new ConnectionManager(counters);
      const nodeId = opts.nodeId ?? `n-${randomBytes(3).toString('hex')}`;
      const client = await target.client('presence');
      const presence = new RedisPresence(client, manager, {
        prefix, nodeId, heartbeatMs: opts.heartbeatMs ?? 1000, startedAt: Date.now(), counters, errors: target.errors, logger: silentLogger,
        userRoomsTtlMs: USER_ROOMS_TTL_MS, announceMaxUsers: opts.announceMaxUsers ?? ANNOUNCE_MAX_USERS,
        ...(opts.onGhostLeft ? { onGhostLeft: opts.onGhostLeft } : {}),
      });
      await presence.start();
      const memberships = new RedisMemberships(client, presence, prefix, USER_ROOMS_TTL_MS, target.errors);
      return node(manager, presence, memberships, nodeId, prefix, () => client.disconnect(false));
    },
  });
  return [
    {
      name: 'memory', distributed: false,
      make: async (opts = {}) => {
        const counters = new Counters();
        const manager = new ConnectionManager(counters);
        const nodeId = opts.nodeId ?? 'mem';
        const memberships = new MemoryMemberships(USER_ROOMS_TTL_MS);
        return node(manager, new MemoryPresence(manager, counters, nodeId, Date.now(), opts.announceMaxUsers ?? ANNOUNCE_MAX_USERS, memberships), memberships, nodeId);
      },
    },
    onRedis('redis', fx),
    ...(cluster === undefined ? [] : [onRedis('redis-cluster', cluster)]),
  ];
}

export interface IdempotencyFactory {
  name: string;
  distributed: boolean;
  make(shared?: string): Promise<IdempotencyStore>;
}

export function idempotencyFactories(fx: RedisFixture, cluster?: ClusterFixture): IdempotencyFactory[] {
  const onCluster: IdempotencyFactory[] = cluster === undefined ? [] : [{
    name: 'redis-cluster', distributed: true,
    make: async (shared) => new RedisIdempotency(await cluster.client('idem'), hashTagged(shared ?? newPrefix('idem')), cluster.errors),
  }];
  return [
    { name: 'memory', distributed: false, make: async () => new MemoryIdempotency() },
    {
      name: 'redis', distributed: true,
      make: async (shared) => {
        const prefix = shared ?? newPrefix('idem');
        fx.prefixes.add(prefix);
        return new RedisIdempotency(await fx.client('idem'), prefix, fx.errors);
      },
    },
    ...onCluster,
  ];
}
