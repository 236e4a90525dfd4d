import type { Config } from '../../config.js';
import type { ConnectionManager } from '../../core/connection-manager.js';
import type { Counters } from '../../core/counters.js';
import type { FeedLease } from '../../core/ports.js';
import type { Backend } from '../backend.js';
import { MemoryBroker } from './broker.js';
import { MemoryIdempotency } from './idempotency.js';
import { MemoryMemberships } from './memberships.js';
import { MemoryPresence } from './presence.js';
import { MemoryWebhookQueue } from './webhook-queue.js';

/** One process is always the only holder of a lease (the feeds', the webhook delivery's). */
class LocalLease implements FeedLease {
  start(onAcquire: () => void): void {
    onAcquire();
  }
  async stop(): Promise<void> {}
}

/** The embedded default: everything in this process's memory. */
export function memoryBackend(config: Config, manager: ConnectionManager, counters: Counters, startedAt: number): Backend {
  const broker = new MemoryBroker(config.historySize);
  const memberships = new MemoryMemberships(config.userRoomsTtlSec * 1000);
  const webhookQueue = config.webhook && new MemoryWebhookQueue(manager, config.webhook.events);
  const presence = new MemoryPresence(manager, counters, config.nodeId, startedAt, config.presenceEventsMaxUsers, memberships, webhookQueue);
  const idempotency = new MemoryIdempotency();
  return {
    broker, presence, directory: presence, census: presence, memberships,
    idempotency, lease: new LocalLease(),
    ...(webhookQueue ? { webhooks: { queue: webhookQueue, lease: new LocalLease() } } : {}),
    async close() {
      memberships.close();
      await Promise.all([broker.close(), idempotency.close()]);
    },
  };
}
