import type { Store } from 'express-rate-limit';
import type { Logger } from 'pino';
import { MemoryBroker } from './broker/memory-broker.js';
import type { Config } from './config.js';
import type { ConnectionManager } from './core/connection-manager.js';
import type { Broker, IdempotencyStore, PresenceStore } from './core/types.js';
import { MemoryIdempotency } from './presence/memory-idempotency.js';
import { MemoryPresence } from './presence/memory-presence.js';

/** Decides, hub-wide, which one process runs the built-in feeds. */
export interface FeedLease {
  /** Calls `onAcquire` when this process becomes the holder and `onLose` when it stops being it. */
  start(onAcquire: () => void, onLose: () => void): void;
  stop(): Promise<void>;
}

/** The state-keeping parts of the hub: memory for one process, Redis for many. */
export interface Backend {
  broker: Broker;
  presence: PresenceStore;
  idempotency: IdempotencyStore;
  lease: FeedLease;
  rateLimitStore?: (name: string) => Store;
  /** Failed Redis calls so far (cluster mode), for metrics. */
  redisErrors?: { readonly total: number };
  /** Releases connections and removes this process's state. */
  close(): Promise<void>;
}

/** One process is always the only holder. */
class LocalLease implements FeedLease {
  start(onAcquire: () => void): void {
    onAcquire();
  }
  async stop(): Promise<void> {}
}

/** The embedded default: everything in this process's memory. */
export function memoryBackend(config: Config, manager: ConnectionManager, startedAt: number): Backend {
  const broker = new MemoryBroker(config.historySize);
  const presence = new MemoryPresence(manager, config.nodeId, startedAt);
  const idempotency = new MemoryIdempotency();
  return {
    broker, presence, idempotency, lease: new LocalLease(),
    async close() {
      await Promise.all([broker.close(), presence.close(), idempotency.close()]);
    },
  };
}

/** Chooses the backend from the config: Redis when REDIS_URL is set. */
export async function createBackend(config: Config, manager: ConnectionManager, startedAt: number, logger: Logger): Promise<Backend> {
  if (config.redisUrl === undefined) return memoryBackend(config, manager, startedAt);
  const { redisBackend } = await import('./redis-backend.js');
  return redisBackend(config, manager, startedAt, logger);
}
