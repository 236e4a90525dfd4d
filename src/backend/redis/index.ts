import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { ConnectionManager } from '../../core/connection-manager.js';
import { PresenceSignals } from '../../core/context.js';
import type { Counters } from '../../core/counters.js';
import type { Backend } from '../backend.js';
import type { Cluster, Redis } from 'ioredis';
import type { RedisDeployment } from '../../config-redis.js';
import { RedisBroker } from './broker.js';
import { ChannelBus, ShardBus, type BusSubscription } from './bus.js';
import {
  RedisErrors, authOptions, closeRedis, connectRedis, createDeploymentClient, failFastOptions, type RedisClient, type RedisLogger,
} from './client.js';
import { ReplicaConfirm } from './confirm.js';
import { RedisIdempotency } from './idempotency.js';
import { RedisLease } from './lease.js';
import { RedisMemberships } from './memberships.js';
import { RedisPresence } from './presence.js';
import { RedisRateLimitStore, rateLimitCommands } from './rate-limit.js';
import { RedisRevocations } from './revocations.js';
import { RedisWebhookQueue, webhookSpec } from './webhook-queue.js';

/** How long start-up waits for Redis before giving up (the process then exits and is restarted). */
export const REDIS_STARTUP_TIMEOUT_MS = 10_000;

/** A Backend with the Redis error counter exposed (for metrics). */
export interface RedisBackend extends Backend {
  redisErrors: RedisErrors;
}

/** The variable that names the deployment, for messages. */
const FORM_VARIABLE = { standalone: 'REDIS_URL', sentinel: 'REDIS_SENTINELS', cluster: 'REDIS_CLUSTER_NODES' } as const;

/** The connections of one process: commands, the bus, and (with REDIS_WAIT_REPLICAS) a connection for WAIT. */
interface Connections {
  cmd: RedisClient;
  bus: BusSubscription;
  confirmClient: RedisClient | undefined;
  /** Every client to connect at start and close at the end (the Cluster's bus connection is the bus's own). */
  clients: RedisClient[];
}

function connections(d: RedisDeployment, nodeId: string, errors: RedisErrors, log: RedisLogger, onShardMoved: () => void): Connections {
  const name = (role: string): string => `roomcast:${nodeId}:${role}`;
  // Commands issued in one event-loop turn go out as one pipeline: a burst of connects records
  // its presence in a few round trips instead of one each (order is kept).
  const cmd = createDeploymentClient(d, name('cmd'), errors, log, { enableAutoPipelining: true });
  // WAIT blocks its connection: it gets one of its own, so presence and reads never queue behind it.
  const confirmClient = d.waitReplicas > 0 ? createDeploymentClient(d, name('wait'), errors, log) : undefined;
  const clients = confirmClient === undefined ? [cmd] : [cmd, confirmClient];
  if (d.form === 'cluster') {
    const nodeOptions = { ...failFastOptions(name('bus')), ...authOptions(d.auth) };
    return { cmd, confirmClient, clients, bus: new ShardBus(cmd as Cluster, nodeOptions, errors, log, onShardMoved) };
  }
  const sub = createDeploymentClient(d, name('sub'), errors, log, { autoResubscribe: false }) as Redis;
  return { cmd, confirmClient, clients: [...clients, sub], bus: new ChannelBus(sub, errors) };
}

/**
 * Cluster mode: every process on one Redis deployment is a node of one hub. Per process: a client
 * for commands and scripts, a subscription to the bus, and with REDIS_WAIT_REPLICAS a client for
 * WAIT — all failing fast while Redis is unreachable or failing over and reconnecting by
 * themselves (to the new primary after a failover); the subscription and this node's presence
 * state are restored automatically, and the events published meanwhile read back from history.
 */
export async function redisBackend(
  config: Config, manager: ConnectionManager, counters: Counters, startedAt: number, logger: Logger,
): Promise<RedisBackend> {
  const deployment = config.redis;
  if (deployment === undefined) throw new Error('redisBackend needs a Redis deployment');
  const log = logger.child({ component: 'redis' });
  const errors = new RedisErrors(log);
  const prefix = config.redisPrefix;
  // The bus on a Cluster tells presence when the hub's shard changed primary (set once presence exists).
  const shard = { moved: (): void => {} };
  const { cmd, bus, confirmClient, clients } = connections(deployment, config.nodeId, errors, log, () => shard.moved());
  try {
    await Promise.all(clients.map((c) => connectRedis(c, REDIS_STARTUP_TIMEOUT_MS)));
  } catch (err) {
    for (const c of clients) c.disconnect(false);
    log.fatal({ err }, 'cannot reach Redis at start-up');
    throw new Error(`cannot reach Redis (${FORM_VARIABLE[deployment.form]}): ${(err as Error).message}`);
  }

  const confirm = confirmClient === undefined ? undefined : new ReplicaConfirm(confirmClient, {
    keys: { history: `${prefix}history`, marker: `${prefix}wait` },
    replicas: deployment.waitReplicas, timeoutMs: deployment.waitTimeoutMs, errors,
  });
  const broker = new RedisBroker(cmd, bus, { prefix, historySize: config.historySize, errors, logger: log, ...(confirm ? { confirm } : {}) });
  const signals = new PresenceSignals(broker);
  const presence = new RedisPresence(cmd, manager, {
    prefix, nodeId: config.nodeId, heartbeatMs: config.heartbeatMs, startedAt, counters, errors, logger: log,
    userRoomsTtlMs: config.userRoomsTtlSec * 1000, announceMaxUsers: config.presenceEventsMaxUsers,
    // A dead process's users leave their rooms: announced by whichever survivor reaps its state.
    onGhostLeft: (room, userId) => signals.left(room, userId),
    ...(config.webhook ? { webhookSpec: webhookSpec(config.webhook.events) } : {}),
  });
  shard.moved = () => presence.rewrite();
  await presence.start();
  const idempotency = new RedisIdempotency(cmd, prefix, errors);
  // The holder is this run of the process, not just its node id: a restart must not inherit the lease.
  const run = `${config.nodeId}#${randomBytes(6).toString('hex')}`;
  const lease = new RedisLease(cmd, `${prefix}lease:feeds`, run, errors, log);
  // One process delivers webhooks at a time, so the pending events leave in order.
  const webhookLease = config.webhook && new RedisLease(cmd, `${prefix}lease:webhooks`, run, errors, log);
  const webhooks = webhookLease && {
    queue: new RedisWebhookQueue(cmd, prefix, `${prefix}lease:webhooks`, run, errors), lease: webhookLease,
  };

  const sendCommand = rateLimitCommands(cmd, errors);

  let closing: Promise<void> | undefined;
  return {
    broker, presence, directory: presence, census: presence, memberships: new RedisMemberships(cmd, presence, prefix, config.userRoomsTtlSec * 1000, errors),
    idempotency, lease, redisErrors: errors, ...(webhooks ? { webhooks } : {}),
    revocations: new RedisRevocations(cmd, prefix, config.tokenMaxTtlSec, errors),
    rateLimitStore: (name) => new RedisRateLimitStore(sendCommand, `${prefix}rl:${name}:`),
    close: () => (closing ??= (async () => {
      await lease.stop();
      await webhookLease?.stop();
      await presence.close();
      await Promise.all([broker.close(), idempotency.close(), bus.close()]);
      await Promise.all(clients.map((c) => closeRedis(c)));
    })()),
  };
}
