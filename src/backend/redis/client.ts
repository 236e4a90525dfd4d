import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisAuth, RedisDeployment } from '../../config-redis.js';
import { HubError, STORE_RETRY_AFTER_SEC } from '../../core/errors.js';

/** A command client of any deployment form: one server (also through Sentinel) or a Cluster. */
export type RedisClient = Redis | Cluster;

/** What the Redis parts log through (pino's shape). */
export interface RedisLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Fail a command after this long instead of waiting on a Redis that does not answer. */
export const COMMAND_TIMEOUT_MS = 5_000;
/** Give up one connection attempt after this long (the client keeps retrying). */
export const CONNECT_TIMEOUT_MS = 2_000;
/** Longest pause between reconnection attempts, so a returning Redis is picked up within a second. */
export const MAX_RECONNECT_DELAY_MS = 1_000;
/** `Retry-After` (seconds) of a 503 answered because Redis is unreachable or failing over. */
export const REDIS_RETRY_AFTER_SEC = STORE_RETRY_AFTER_SEC;
/** How often a Cluster client re-reads the slot map, so a promoted replica is used within about a second. */
export const SLOTS_REFRESH_MS = 1_000;

/**
 * Counts and logs every failed Redis call, with the operation that failed. One instance per
 * process, shared by broker, presence, idempotency, lease and rate limits; metrics can read `total`.
 */
export class RedisErrors {
  total = 0;
  readonly byOp = new Map<string, number>();

  constructor(private readonly logger: RedisLogger) {}

  /** Records one failure of `op` (context is logged alongside the error). */
  record(op: string, err: unknown, context: object = {}): void {
    this.total++;
    const n = (this.byOp.get(op) ?? 0) + 1;
    this.byOp.set(op, n);
    // During an outage the same operation fails again and again: log the first ones and then every 100th.
    if (n <= 5 || n % 100 === 0) {
      this.logger.error({ err: errorSummary(err), op, failures: n, ...context }, 'redis operation failed');
    }
  }

  /** Awaits a Redis call; on failure records it and rethrows it as a 503 `unavailable`. */
  async guard<T>(op: string, work: Promise<T>, context: object = {}): Promise<T> {
    try {
      return await work;
    } catch (err) {
      this.record(op, err, context);
      throw new HubError('unavailable', 'the shared store (Redis) is unreachable; try again', undefined, REDIS_RETRY_AFTER_SEC);
    }
  }
}

/** A loggable view of an error without its stack (connection errors repeat a lot). */
function errorSummary(err: unknown): { message: string; name?: string } {
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { message: String(err) };
}

/**
 * Options of every connection to a Redis server: fail fast while it is unreachable (no offline
 * queue, commands in flight are not sent again, a command timeout) and reconnect by itself, quickly.
 */
export function failFastOptions(name: string): RedisOptions {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (times) => Math.min(50 * times, MAX_RECONNECT_DELAY_MS),
    // A server that answers READONLY was demoted to a replica (a failover behind one address, or one
    // Sentinel has not cut us from yet): reconnect, to whatever is the primary now; never resend.
    reconnectOnError: (err) => (/^READONLY/.test(err.message) ? 1 : false),
    connectionName: name,
  };
}

/** ioredis options for the credentials and TLS of the Sentinel and Cluster forms. */
export function authOptions(auth: RedisAuth): RedisOptions {
  return {
    ...(auth.username !== undefined ? { username: auth.username } : {}),
    ...(auth.password !== undefined ? { password: auth.password } : {}),
    ...(auth.tls ? { tls: {} } : {}),
  };
}

/** Counts a client's connection errors once per outage and logs when it is back. */
function watch(client: RedisClient, name: string, errors: RedisErrors, logger: RedisLogger): void {
  let down = false;
  const onError = (err: unknown): void => {
    if (!down) {
      down = true;
      errors.record(`${name}:connection`, err);
    } else {
      errors.total++;
    }
  };
  client.on('error', onError);
  client.on('node error', onError);
  client.on('ready', () => {
    if (down) logger.warn({ client: name }, 'redis connection is back');
    down = false;
  });
  client.on('end', () => logger.debug({ client: name }, 'redis connection ended'));
}

/** A fail-fast client of one Redis server given by URL (see failFastOptions). */
export function createRedisClient(url: string, name: string, errors: RedisErrors, logger: RedisLogger, extra: RedisOptions = {}): Redis {
  const client = new Redis(url, { ...failFastOptions(name), ...extra });
  watch(client, name, errors, logger);
  return client;
}

/**
 * A fail-fast client of the configured deployment. Sentinel: ioredis asks the sentinels for the
 * primary at every (re)connection; a failover cuts our connections (the old primary dies, or
 * Sentinel kills its clients when it demotes it), so we reconnect to the new one. (ioredis's
 * `failoverDetector` is not used: in 5.11 its disconnect during a reconnection ends the client for
 * good.) Cluster: commands
 * go to the node owning their slot; a command whose connection closed, or that met CLUSTERDOWN,
 * fails at once instead of being sent again (it may have run: its caller answers 503 and the
 * publisher retries with its Idempotency-Key).
 */
export function createDeploymentClient(
  deployment: RedisDeployment, name: string, errors: RedisErrors, logger: RedisLogger, extra: RedisOptions = {},
): RedisClient {
  if (deployment.form === 'standalone') return createRedisClient(deployment.url, name, errors, logger, extra);
  const auth = authOptions(deployment.auth);
  let client: RedisClient;
  if (deployment.form === 'sentinel') {
    client = new Redis({
      ...failFastOptions(name), ...auth, ...extra,
      sentinels: deployment.sentinels.map((a) => ({ host: a.host, port: a.port })),
      name: deployment.name,
      // The same credentials and TLS for the sentinels as for the servers they lead to.
      ...(auth.username !== undefined ? { sentinelUsername: auth.username } : {}),
      ...(auth.password !== undefined ? { sentinelPassword: auth.password } : {}),
      ...(deployment.auth.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
      sentinelCommandTimeout: CONNECT_TIMEOUT_MS,
    });
  } else {
    const { retryStrategy: _perNode, lazyConnect: _lazy, enableOfflineQueue: _queue, ...node } = failFastOptions(name);
    const options: ClusterOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      retryDelayOnFailover: 0,
      retryDelayOnClusterDown: 0,
      clusterRetryStrategy: (times) => Math.min(50 * times, MAX_RECONNECT_DELAY_MS),
      slotsRefreshInterval: SLOTS_REFRESH_MS,
      slotsRefreshTimeout: CONNECT_TIMEOUT_MS,
      redisOptions: { ...node, ...auth, ...extra },
    };
    client = new Cluster(deployment.nodes.map((a) => ({ host: a.host, port: a.port })), options);
  }
  watch(client, name, errors, logger);
  return client;
}

/** Waits for a lazily created client's first connection, or fails after `timeoutMs`. */
export async function connectRedis(client: RedisClient, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no connection to Redis within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Closes a client politely when it is connected, else drops it; never throws. */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (client.status === 'ready') {
    try {
      await Promise.race([client.quit(), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    } catch {
      // falls through to disconnect
    }
  }
  client.disconnect(false);
}
