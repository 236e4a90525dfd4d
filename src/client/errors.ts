/** A failed call to the hub: its error body's code and message, or `network` / `timeout`. */
export class RoomcastError extends Error {
  /** HTTP status; 0 when there was no answer. */
  readonly status: number;
  /** The hub's error code (`unauthenticated`, `forbidden`, `unavailable`, ...), or `network`, `timeout`, `token_expired`, `token_revoked`. */
  readonly code: string;
  /** The hub's `details`, when given. */
  readonly details: unknown[] | undefined;
  /** The answer's Retry-After, in milliseconds, when given. */
  readonly retryAfterMs: number | null;

  constructor(code: string, message: string, opts: { status?: number; details?: unknown[]; retryAfterMs?: number | null; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RoomcastError';
    this.code = code;
    this.status = opts.status ?? 0;
    this.details = opts.details;
    this.retryAfterMs = opts.retryAfterMs ?? null;
  }
}
