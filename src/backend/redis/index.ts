import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { RedisReply } from 'rate-limit-redis';
import type { Config } from '../../config.js';
import type { ConnectionManager } from '../../core/connection-manager.js';
import { PresenceSignals } from '../../core/context.js';
import type { Counters } from '../../core/counters.js';
import type { Backend } from '../backend.js';
import { RedisBroker } from './broker.js';
import { RedisErrors, closeRedis, connectRedis, createRedisClient } from './client.js';
import { RedisIdempotency } from './idempotency.js';
import { RedisLease } from './lease.js';
import { RedisMemberships } from './memberships.js';
import { RedisPresence } from './presence.js';
import { RedisRateLimitStore } from './rate-limit.js';
import { RedisWebhookQueue, webhookSpec } from './webhook-queue.js';

/** How long start-up waits for Redis before giving up (the process then exits and is restarted). */
export const REDIS_STARTUP_TIMEOUT_MS = 10_000;

/** A Backend with the Redis error counter exposed (for metrics). */
export interface RedisBackend extends Backend {
  redisErrors: RedisErrors;
}

/**
 * Cluster mode: every process on one Redis is a node of one hub. Two clients per process — one
 * for commands and scripts, one in subscriber mode for the bus — both failing fast while Redis is
 * unreachable and reconnecting by themselves; the subscription and this node's presence state
 * are restored automatically when Redis returns.
 */
export async function redisBackend(
  config: Config, manager: ConnectionManager, counters: Counters, startedAt: number, logger: Logger,
): Promise<RedisBackend> {
  const url = config.redisUrl;
  if (url === undefined) throw new Error('redisBackend needs REDIS_URL');
  const log = logger.child({ component: 'redis' });
  const errors = new RedisErrors(log);
  const prefix = config.redisPrefix;
  // Commands issued in one event-loop turn go out as one pipeline: a burst of connects records
  // its presence in a few round trips instead of one each (order is kept).
  const cmd = createRedisClient(url, `roomcast:${config.nodeId}:cmd`, errors, log, { enableAutoPipelining: true });
  const sub = createRedisClient(url, `roomcast:${config.nodeId}:sub`, errors, log, { autoResubscribe: false });
  try {
    await Promise.all([connectRedis(cmd, REDIS_STARTUP_TIMEOUT_MS), connectRedis(sub, REDIS_STARTUP_TIMEOUT_MS)]);
  } catch (err) {
    cmd.disconnect(false);
    sub.disconnect(false);
    log.fatal({ err }, 'cannot reach Redis at start-up');
    throw new Error(`cannot reach Redis (REDIS_URL): ${(err as Error).message}`);
  }

  const broker = new RedisBroker(cmd, sub, { prefix, historySize: config.historySize, errors, logger: log });
  const signals = new PresenceSignals(broker);
  const presence = new RedisPresence(cmd, manager, {
    prefix, nodeId: config.nodeId, heartbeatMs: config.heartbeatMs, startedAt, counters, errors, logger: log,
    userRoomsTtlMs: config.userRoomsTtlSec * 1000, announceMaxUsers: config.presenceEventsMaxUsers,
    // A dead process's users leave their rooms: announced by whichever survivor reaps its state.
    onGhostLeft: (room, userId) => signals.left(room, userId),
    ...(config.webhook ? { webhookSpec: webhookSpec(config.webhook.events) } : {}),
  });
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

  const sendCommand = async (...args: string[]): Promise<RedisReply> => {
    const [command, ...rest] = args;
    try {
      return (await cmd.call(command as string, rest)) as RedisReply;
    } catch (err) {
      // NOSCRIPT (a restarted Redis) is for RedisStore to handle: it reloads its scripts.
      if (err instanceof Error && /^NOSCRIPT/.test(err.message)) throw err;
      return errors.guard('rate-limit', Promise.reject(err), { command });
    }
  };

  let closing: Promise<void> | undefined;
  return {
    broker, presence, directory: presence, census: presence, memberships: new RedisMemberships(cmd, presence, prefix, config.userRoomsTtlSec * 1000, errors),
    idempotency, lease, redisErrors: errors, ...(webhooks ? { webhooks } : {}),
    rateLimitStore: (name) => new RedisRateLimitStore(sendCommand, `${prefix}rl:${name}:`),
    close: () => (closing ??= (async () => {
      await lease.stop();
      await webhookLease?.stop();
      await presence.close();
      await Promise.all([broker.close(), idempotency.close()]);
      await Promise.all([closeRedis(sub), closeRedis(cmd)]);
    })()),
  };
}
