import { Redis, type RedisOptions } from 'ioredis';
import { HubError } from '../../core/errors.js';

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
      throw new HubError('unavailable', 'the shared store (Redis) is unreachable; try again');
    }
  }
}

/** A loggable view of an error without its stack (connection errors repeat a lot). */
function errorSummary(err: unknown): { message: string; name?: string } {
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { message: String(err) };
}

/**
 * A Redis client that fails fast while Redis is unreachable (no offline queue, no retries of
 * commands in flight, a command timeout) and reconnects by itself, quickly.
 */
export function createRedisClient(url: string, name: string, errors: RedisErrors, logger: RedisLogger, extra: RedisOptions = {}): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (times) => Math.min(50 * times, MAX_RECONNECT_DELAY_MS),
    connectionName: name,
    ...extra,
  });
  let down = false;
  client.on('error', (err: unknown) => {
    if (!down) {
      down = true;
      errors.record(`${name}:connection`, err);
    } else {
      errors.total++;
    }
  });
  client.on('ready', () => {
    if (down) logger.warn({ client: name }, 'redis connection is back');
    down = false;
  });
  client.on('end', () => logger.debug({ client: name }, 'redis connection ended'));
  return client;
}

/** Waits for a lazily created client's first connection, or fails after `timeoutMs`. */
export async function connectRedis(client: Redis, timeoutMs: number): Promise<void> {
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
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    try {
      await Promise.race([client.quit(), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    } catch {
      // falls through to disconnect
    }
  }
  client.disconnect(false);
}
