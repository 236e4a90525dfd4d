import { setTimeout as delay } from 'node:timers/promises';
import type { HubLogger } from '../core/context.js';
import { WEBHOOK_BATCH_MAX, type WebhookEvent, type WebhookObserver, type WebhookQueue } from '../core/webhooks.js';
import type { SendResult } from './sender.js';

/**
 * After the first pending event, how long delivery waits for more before it sends, in ms, so
 * that a burst of transitions (a page of streams opening) shares one POST. With the Redis poll
 * interval it keeps every batch within one second of its first event.
 */
export const WEBHOOK_LINGER_MS = 250;
/** First retry delay's ceiling, in ms; it doubles with each retry. */
export const WEBHOOK_RETRY_BASE_MS = 500;
/** Largest retry delay, in ms. */
export const WEBHOOK_RETRY_CAP_MS = 30_000;
/** Longest wait for events on an empty queue before it is read again, in ms. */
const IDLE_WAIT_MS = 1_000;
/** Pause after the queue's store failed (Redis unreachable), in ms. */
const ERROR_PAUSE_MS = 1_000;
/** How often overflow drops are collected for the metrics, at most, in ms. */
const DROPPED_EVERY_MS = 1_000;

/** Sends one batch (src/webhooks/sender.ts). */
export interface BatchSender {
  send(events: readonly WebhookEvent[], signal: AbortSignal): Promise<SendResult>;
}

/** What a WebhookDispatcher is built from. */
export interface DispatcherOptions {
  /** How long one batch is retried before it is given up (WEBHOOK_RETRY_FOR), ms. */
  retryForMs: number;
  observer: WebhookObserver;
  logger: HubLogger;
}

/** Delay before retry number `attempt` (0-based): exponential, with the upper half jittered. */
export function retryDelayMs(attempt: number): number {
  const ceiling = Math.min(WEBHOOK_RETRY_CAP_MS, WEBHOOK_RETRY_BASE_MS * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** One stretch of delivering, from taking the delivery lease to losing it or shutting down. */
interface Run {
  /** Aborts everything, the POST in flight included. */
  readonly stop: AbortController;
  /** Cuts waits short (linger, backoff, idle) without aborting a POST. */
  readonly hurry: AbortController;
  done: Promise<void>;
}

/**
 * Delivers the queue's pending events, oldest first, in batches of at most 100: one batch at a
 * time, each retried with backoff until acknowledged or WEBHOOK_RETRY_FOR has passed, so events
 * reach the receiver in the order they were recorded. Runs only while this process holds the
 * delivery lease (always, in memory mode); nothing here is on the path of streams or publishing.
 */
export class WebhookDispatcher {
  private run: Run | undefined;
  private draining = false;
  private droppedAt = 0;

  constructor(
    private readonly queue: WebhookQueue,
    private readonly sender: BatchSender,
    private readonly opts: DispatcherOptions,
  ) {}

  /** Starts delivering: this process holds the delivery lease now. */
  start(): void {
    const prev = this.run;
    if (this.draining || (prev !== undefined && !prev.stop.signal.aborted)) return;
    const stop = new AbortController();
    const hurry = new AbortController();
    stop.signal.addEventListener('abort', () => hurry.abort(), { once: true });
    const run: Run = { stop, hurry, done: Promise.resolve() };
    this.run = run;
    // A run still winding down (the lease was lost and taken again at once) finishes first, so
    // two runs never send at the same time.
    run.done = (prev?.done ?? Promise.resolve()).then(() => this.loop(run)).finally(() => {
      if (this.run === run) this.run = undefined;
    });
  }

  /** Stops delivering at once (the lease was lost): a batch in flight stays pending for the next holder. */
  async pause(): Promise<void> {
    const run = this.run;
    run?.stop.abort();
    await run?.done;
  }

  /**
   * Shutdown: sends what is pending now, without lingering and without retries, for up to
   * `graceMs`; then stops. What is left stays pending (in Redis: for the next holder).
   */
  async stop(graceMs: number): Promise<void> {
    this.draining = true;
    const run = this.run;
    if (run === undefined) return;
    run.hurry.abort();
    const timer = setTimeout(() => run.stop.abort(), graceMs);
    await run.done;
    clearTimeout(timer);
  }

  private async loop(run: Run): Promise<void> {
    while (!run.stop.signal.aborted) {
      try {
        if (!(await this.step(run))) return;
      } catch (err) {
        // The queue's store is unreachable: the events stay pending where they are.
        // Logged where the store failed (RedisErrors); only noted here.
        this.opts.logger.debug({ err }, 'webhook queue unreachable; delivery resumes when it answers');
        if (this.draining) return;
        await delay(ERROR_PAUSE_MS, undefined, { signal: run.hurry.signal }).catch(() => undefined);
      }
    }
  }

  /** Delivers one batch, or waits for one; false when this run has nothing more to do. */
  private async step(run: Run): Promise<boolean> {
    await this.collectDropped();
    let batch = await this.queue.peek(WEBHOOK_BATCH_MAX);
    if (batch.length === 0) {
      if (this.draining) return false;
      await this.queue.wait(IDLE_WAIT_MS, run.hurry.signal);
      return true;
    }
    if (batch.length < WEBHOOK_BATCH_MAX && !this.draining) {
      await delay(WEBHOOK_LINGER_MS, undefined, { signal: run.hurry.signal }).catch(() => undefined);
      batch = await this.queue.peek(WEBHOOK_BATCH_MAX);
      if (batch.length === 0) return true;
    }
    return this.deliver(batch, run);
  }

  /** Sends one batch until acknowledged or given up; false when the run must end. */
  private async deliver(batch: readonly WebhookEvent[], run: Run): Promise<boolean> {
    const { logger, observer, retryForMs } = this.opts;
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      const res = await this.sender.send(batch, run.stop.signal);
      if (run.stop.signal.aborted) return false;
      if (res.ok) return this.acknowledge(batch, true);
      const context = { reason: res.reason, events: batch.length, firstId: batch[0]?.id, attempt: attempt + 1 };
      if (this.draining) {
        logger.warn(context, 'webhook POST failed during shutdown; the batch stays pending');
        return false;
      }
      const wait = retryDelayMs(attempt);
      if (Date.now() + wait - started > retryForMs) {
        logger.error(context, 'webhook batch given up: not acknowledged within WEBHOOK_RETRY_FOR');
        observer.failed(batch.length);
        return this.acknowledge(batch, false);
      }
      observer.retried();
      logger.warn({ ...context, retryInMs: Math.round(wait) }, 'webhook POST failed; retrying');
      await delay(wait, undefined, { signal: run.hurry.signal }).catch(() => undefined);
      await this.collectDropped();
    }
  }

  /** Takes the batch off the queue; false when another process holds the delivery lease now. */
  private async acknowledge(batch: readonly WebhookEvent[], delivered: boolean): Promise<boolean> {
    const last = batch[batch.length - 1] as WebhookEvent;
    if (!(await this.queue.ack(last.id))) {
      this.opts.logger.warn({ lastId: last.id }, 'webhook delivery lease lost; another process delivers from here');
      return false;
    }
    if (delivered) {
      const now = Date.now();
      this.opts.observer.delivered(batch.map((ev) => Math.max(0, now - Date.parse(ev.timestamp))));
    }
    return true;
  }

  private async collectDropped(): Promise<void> {
    const now = Date.now();
    if (now - this.droppedAt < DROPPED_EVERY_MS) return;
    this.droppedAt = now;
    const n = await this.queue.takeDropped();
    if (n === 0) return;
    this.opts.observer.dropped(n);
    this.opts.logger.warn({ dropped: n }, 'webhook queue full: the oldest pending events were dropped');
  }
}
