import { Counter, Histogram, type Registry } from 'prom-client';
import type { WebhookObserver } from '../core/webhooks.js';

/** Buckets of the webhook delivery latency, in seconds (recorded to acknowledged; retries make the tail). */
const WEBHOOK_LATENCY_BUCKETS_SEC = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * The webhook metrics of one process, on its registry. Only the process delivering at the time
 * counts (one per hub), so summing over processes gives the hub's totals.
 */
export class WebhookMetrics implements WebhookObserver {
  private readonly deliveredTotal: Counter;
  private readonly retriesTotal: Counter;
  private readonly failuresTotal: Counter;
  private readonly droppedTotal: Counter;
  private readonly latency: Histogram;

  constructor(registry: Registry) {
    const registers = [registry];
    this.deliveredTotal = new Counter({
      name: 'roomcast_webhook_delivered_total', help: 'Webhook events acknowledged by the receiver', registers,
    });
    this.retriesTotal = new Counter({
      name: 'roomcast_webhook_retries_total', help: 'Webhook POSTs sent again after a non-2xx answer or no answer in time', registers,
    });
    this.failuresTotal = new Counter({
      name: 'roomcast_webhook_failures_total', help: 'Webhook events given up after WEBHOOK_RETRY_FOR without an acknowledgement', registers,
    });
    this.droppedTotal = new Counter({
      name: 'roomcast_webhook_dropped_total', help: 'Webhook events dropped, oldest first, because the pending queue was full', registers,
    });
    this.latency = new Histogram({
      name: 'roomcast_webhook_delivery_latency_seconds', help: 'Time from a transition being recorded to its webhook being acknowledged',
      buckets: WEBHOOK_LATENCY_BUCKETS_SEC, registers,
    });
  }

  delivered(latenciesMs: readonly number[]): void {
    this.deliveredTotal.inc(latenciesMs.length);
    for (const ms of latenciesMs) this.latency.observe(ms / 1000);
  }

  retried(): void {
    this.retriesTotal.inc();
  }

  failed(n: number): void {
    this.failuresTotal.inc(n);
  }

  dropped(n: number): void {
    this.droppedTotal.inc(n);
  }
}
