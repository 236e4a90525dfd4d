/** Error codes of the contract, each with its HTTP status. */
export const ERROR_STATUS = {
  invalid_request: 400,
  unauthenticated: 401,
  invalid_credentials: 401,
  forbidden: 403,
  not_found: 404,
  request_timeout: 408,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  too_many_connections: 429,
  too_many_rooms: 429,
  internal: 500,
  unavailable: 503,
} as const;

/** One of the contract's error codes. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** One problem with a request field. */
export interface ErrorDetail {
  path: string;
  message: string;
}

/** An error with a contract code; the HTTP layer turns it into `{"error": {...}}`. */
export class HubError extends Error {
  readonly status: number;
  /** `retryAfterSec`: sent as `Retry-After` where waiting helps (429, 503). */
  constructor(readonly code: ErrorCode, message: string, readonly details?: ErrorDetail[], readonly retryAfterSec?: number) {
    super(message);
    this.name = 'HubError';
    this.status = ERROR_STATUS[code];
  }
}
