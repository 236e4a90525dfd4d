import type { Store } from 'express-rate-limit';
import type { FeedLease, HubStores, Revocations } from '../core/ports.js';
import type { WebhookQueue } from '../core/webhooks.js';

/** Webhook delivery's parts: the hub-wide pending queue, and the lease naming the one process that delivers. */
export interface WebhookParts {
  queue: WebhookQueue;
  lease: FeedLease;
}

/** The state-keeping parts of the hub, one implementation of every port: memory for one process, Redis for many. */
export interface Backend extends HubStores {
  /** Token revocations, kept for every process (each reads its own copy from here). */
  revocations: Revocations;
  lease: FeedLease;
  /** Present with WEBHOOK_URL: presence then records webhook events as it decides the transitions. */
  webhooks?: WebhookParts;
  /** Rate-limit stores shared by every process (Redis); absent: each limiter keeps its own memory. */
  rateLimitStore?: (name: string) => Store;
  /** Failed Redis calls so far (cluster mode), for metrics. */
  redisErrors?: { readonly total: number };
  /** Releases connections and removes this process's state. */
  close(): Promise<void>;
}
