/** Retry timing shared by subscriptions and publishers: full-jitter backoff and Retry-After. */

/** Base and cap of an exponential backoff, in milliseconds. */
export interface BackoffOptions {
  /** The first attempt's ceiling; doubled for each further attempt. */
  baseMs: number;
  /** No delay exceeds this. */
  maxMs: number;
}

/**
 * Exponential backoff with full jitter: a delay drawn uniformly from [0, min(max, base·2^attempt)).
 * Spreading each wait over its whole window keeps many clients that lost the same hub from
 * coming back in step. `random` returns a number in [0, 1).
 */
export function fullJitterDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** A `Retry-After` header (seconds or an HTTP date) as milliseconds from `nowMs`; null when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number = Date.now()): number | null {
  if (value === null || value === undefined) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

/**
 * Orders two event ids. The hub's ids are fixed-width decimal strings; digit strings of
 * different lengths are compared as numbers, anything else as plain strings.
 */
export function compareEventIds(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b) && a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Resolves after `ms`, or rejects with the signal's reason once it aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
