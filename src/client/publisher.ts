/** RoomcastPublisher: publishing with an Idempotency-Key of its own, retried until delivered once. */
import { delay, fullJitterDelay, type BackoffOptions } from './backoff.js';
import { httpSettings, withToken } from './client.js';
import { RoomcastError } from './errors.js';
import type { HttpSettings } from './http.js';
import { TokenKeeper } from './token.js';
import type { BatchResult, PublishInput, PublishOptions, PublisherOptions, PublishResult } from './types.js';

/** Attempts per publish, the first included. */
export const DEFAULT_MAX_ATTEMPTS = 6;
/** Backoff base between attempts, in milliseconds. */
export const DEFAULT_PUBLISH_BACKOFF_BASE_MS = 250;
/** Longest wait between attempts, in milliseconds. */
export const DEFAULT_PUBLISH_BACKOFF_MAX_MS = 10_000;

/** A new Idempotency-Key: 128 random bits (getRandomValues works on plain-http pages too, randomUUID does not). */
export function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `rc-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * True for a failure after which the event may or may not have been published, or the hub asks
 * to come back: no answer, a timeout, 502/503/504. The same Idempotency-Key makes a retry safe.
 */
export function isRetryable(err: RoomcastError): boolean {
  return err.status === 0 || err.status === 502 || err.status === 503 || err.status === 504;
}

/** Publishes events for a service (role `publisher` or `admin`). */
export class RoomcastPublisher {
  private readonly http: HttpSettings;
  private readonly keeper: TokenKeeper;
  private readonly maxAttempts: number;
  private readonly backoff: BackoffOptions;

  constructor(opts: PublisherOptions) {
    this.http = httpSettings(opts);
    this.keeper = new TokenKeeper(this.http, opts.getToken, opts.token);
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
    this.backoff = {
      baseMs: opts.backoff?.baseMs ?? DEFAULT_PUBLISH_BACKOFF_BASE_MS,
      maxMs: opts.backoff?.maxMs ?? DEFAULT_PUBLISH_BACKOFF_MAX_MS,
    };
  }

  /** Publishes one event: 202's `{id, recipients}`. Throws RoomcastError when the hub refuses or cannot be reached in time. */
  publish<D>(event: PublishInput<D>, opts: PublishOptions = {}): Promise<PublishResult> {
    return this.send<PublishResult>('/broadcast', event, opts);
  }

  /** Publishes up to 100 events in one request, all or none: their ids in the given order. */
  publishBatch(events: PublishInput[], opts: PublishOptions = {}): Promise<BatchResult> {
    return this.send<BatchResult>('/broadcast/batch', { events }, opts);
  }

  private async send<T>(path: string, body: unknown, opts: PublishOptions): Promise<T> {
    // One key for every attempt of this publish: the hub answers a repeat with the first answer.
    const headers = { 'Idempotency-Key': opts.idempotencyKey ?? newIdempotencyKey() };
    for (let attempt = 0; ; attempt++) {
      // A token about to expire is renewed first (a failure here is left to the hub's 401).
      if (this.keeper.renewalDelay() === 0) await this.keeper.renew().catch(() => undefined);
      try {
        return await withToken<T>(this.http, this.keeper, { method: 'POST', path, body, headers, signal: opts.signal });
      } catch (err) {
        if (!(err instanceof RoomcastError) || !isRetryable(err) || attempt + 1 >= this.maxAttempts) throw err;
        await delay(err.retryAfterMs ?? fullJitterDelay(attempt, this.backoff), opts.signal);
      }
    }
  }
}
