// Builds the memory and Redis implementations of Broker, presence and IdempotencyStore for
// the shared contract suites. Each Redis instance gets its own key prefix, deleted in cleanup().
import { randomBytes } from 'node:crypto';
import type { Redis, RedisOptions } from 'ioredis';
import { MemoryBroker } from '../../src/backend/memory/broker.js';
import { MemoryIdempotency } from '../../src/backend/memory/idempotency.js';
import { MemoryMemberships } from '../../src/backend/memory/memberships.js';
import { MemoryPresence } from '../../src/backend/memory/presence.js';
import { RedisBroker } from '../../src/backend/redis/broker.js';
import { RedisErrors, closeRedis, connectRedis, createRedisClient } from '../../src/backend/redis/client.js';
import { RedisIdempotency } from '../../src/backend/redis/idempotency.js';
import { RedisMemberships } from '../../src/backend/redis/memberships.js';
import { RedisPresence } from '../../src/backend/redis/presence.js';
import type { Connection } from '../../src/core/connection.js';
import { ConnectionManager } from '../../src/core/connection-manager.js';
import { Counters } from '../../src/core/counters.js';
import type { Broker, Directory, HubCensus, IdempotencyStore, Memberships, Presence } from '../../src/core/ports.js';
import { REDIS_URL, deleteKeys, newPrefix } from '../support/redis-keys.js';

/** USER_ROOMS_TTL of the contract suites' presence nodes, in ms. */
const USER_ROOMS_TTL_MS = 60_000;
/** PRESENCE_EVENTS_MAX_USERS of the contract suites' presence nodes, unless a case sets its own. */
const ANNOUNCE_MAX_USERS = 100;

/** A logger that drops everything (the implementations log their Redis trouble). */
export const silentLogger = { debug() {}, info() {}, warn() {}, error() {}, fatal() {} };

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


export interface BrokerFactory {
  name: string;
  /** A broker; with `shared`, another broker on the same store (Redis only). */
  make(capacity: number, shared?: string): Promise<Broker>;
  distributed: boolean;
}

export function brokerFactories(fx: RedisFixture): BrokerFactory[] {
  return [
    { name: 'memory', distributed: false, make: async (capacity) => new MemoryBroker(capacity) },
    {
      name: 'redis', distributed: true,
      make: async (capacity, shared) => {
        const prefix = shared ?? newPrefix('broker');
        fx.prefixes.add(prefix);
        const cmd = await fx.client('cmd');
        const sub = await fx.client('sub');
        return new RedisBroker(cmd, sub, { prefix, historySize: capacity, errors: fx.errors, logger: silentLogger });
      },
    },
  ];
}

/** What the presence contract suite checks: every presence port of one implementation. */
export type PresenceStore = Presence & Directory & HubCensus & { close?(): Promise<void> };

export interface PresenceNode {
  manager: ConnectionManager;
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
  make(opts?: { shared?: string; nodeId?: string; heartbeatMs?: number; announceMaxUsers?: number; onGhostLeft?: (room: string, userId: string) => Promise<void> }): Promise<PresenceNode>;
}

function node(manager: ConnectionManager, presence: PresenceStore, memberships: Memberships, nodeId: string, crash: () => void = () => {}): PresenceNode {
  // As the Hub does: the manager changes first, then presence records it with the local transition.
  return {
    manager, presence, memberships, nodeId, crash,
    open: (conn) => presence.opened(conn, 1000, manager.add(conn)).then((firsts) => firsts ?? []),
    close: (conn) => presence.closed(conn, manager.remove(conn)),
    join: (conn, room) => presence.joined(conn, room, manager.join(conn, room) === 'edge'),
    leave: (conn, room) => presence.left(conn, room, manager.leave(conn, room) === 'edge'),
  };
}

export function presenceFactories(fx: RedisFixture): PresenceFactory[] {
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
    {
      name: 'redis', distributed: true,
      make: async (opts = {}) => {
        const prefix = opts.shared ?? newPrefix('presence');
        fx.prefixes.add(prefix);
        const counters = new Counters();
        const manager = new ConnectionManager(counters);
        const nodeId = opts.nodeId ?? `n-${randomBytes(3).toString('hex')}`;
        const client = await fx.client('presence');
        const presence = new RedisPresence(client, manager, {
          prefix, nodeId, heartbeatMs: opts.heartbeatMs ?? 1000, startedAt: Date.now(), counters, errors: fx.errors, logger: silentLogger,
          userRoomsTtlMs: USER_ROOMS_TTL_MS, announceMaxUsers: opts.announceMaxUsers ?? ANNOUNCE_MAX_USERS,
          ...(opts.onGhostLeft ? { onGhostLeft: opts.onGhostLeft } : {}),
        });
        await presence.start();
        return node(manager, presence, new RedisMemberships(client, presence, prefix, USER_ROOMS_TTL_MS, fx.errors), nodeId, () => client.disconnect(false));
      },
    },
  ];
}

export interface IdempotencyFactory {
  name: string;
  distributed: boolean;
  make(shared?: string): Promise<IdempotencyStore>;
}

export function idempotencyFactories(fx: RedisFixture): IdempotencyFactory[] {
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
  ];
}
