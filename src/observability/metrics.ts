import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ConnectionManager } from '../core/connection-manager.js';
import type { HubObserver } from '../core/context.js';
import type { Counters, DeliveryCounters } from '../core/counters.js';

/** Latency buckets for delivery, in seconds (publish to written on this process). */
const LATENCY_BUCKETS_SEC = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Prometheus metrics of one process; counters are read from the hub at scrape time, not per delivery. */
export class Metrics implements HubObserver {
  readonly registry = new Registry();
  private readonly latency: Histogram;

  constructor(manager: ConnectionManager, counters: Counters, nodeId: string) {
    this.registry.setDefaultLabels({ node: nodeId });
    // Process and runtime metrics under the ecosystem's own names (process_*, nodejs_*), unprefixed,
    // so standard Node.js dashboards and alerts find them; the hub's own start with roomcast_.
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'roomcast_connections', help: 'Open event streams on this process', registers: [this.registry],
      collect() { this.set(manager.size); },
    });
    new Gauge({
      name: 'roomcast_users', help: 'Distinct users with a stream on this process', registers: [this.registry],
      collect() { this.set(manager.userCount); },
    });
    const counter = (name: string, help: string, key: keyof DeliveryCounters): void => {
      let reported = 0;
      new Counter({
        name, help, registers: [this.registry],
        collect() {
          const now = counters.snapshot()[key];
          this.inc(now - reported);
          reported = now;
        },
      });
    };
    counter('roomcast_events_published_total', 'Events published through this process', 'published');
    counter('roomcast_events_delivered_total', 'Event deliveries written to streams on this process', 'delivered');
    counter('roomcast_evictions_total', 'Slow consumers closed for exceeding MAX_BUFFERED_BYTES', 'evicted');
    counter('roomcast_events_replayed_total', 'Events replayed from history to reconnecting streams', 'replayed');
    this.latency = new Histogram({
      name: 'roomcast_delivery_latency_seconds', help: 'Time from publish to the frame being written on this process',
      buckets: LATENCY_BUCKETS_SEC, registers: [this.registry],
    });
  }

  /** Exposes a running count of failed Redis calls as `roomcast_redis_errors_total`. */
  countRedisErrors(source: { readonly total: number }): void {
    let reported = 0;
    new Counter({
      name: 'roomcast_redis_errors_total', help: 'Redis calls that failed (logged with their operation)', registers: [this.registry],
      collect() {
        this.inc(source.total - reported);
        reported = source.total;
      },
    });
  }

  dispatched(latencyMs: number): void {
    this.latency.observe(Math.max(0, latencyMs) / 1000);
  }
}
