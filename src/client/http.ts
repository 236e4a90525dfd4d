/** The HTTP calls the client and the publisher share: URLs, JSON, error bodies, timeouts. */
import { parseRetryAfter } from './backoff.js';
import { RoomcastError } from './errors.js';
import type { Credentials } from './types.js';

/** Default bound on one request, in milliseconds. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** Where and how requests go. */
export interface HttpSettings {
  baseUrl: string;
  credentials: Credentials;
  timeoutMs: number;
}

/** One JSON request. */
export interface JsonRequest {
  method: 'GET' | 'POST';
  path: string;
  token?: string | undefined;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
}

/** The hub's URL for a path, keeping any path prefix of the base (`https://x/hub` + `/events`). */
export function endpoint(baseUrl: string, path: string): string {
  return baseUrl.replace(/\/+$/, '') + path;
}

/** Request headers: JSON, and the bearer token when there is one. */
export function authHeaders(token: string | undefined, extra: Record<string, string> = {}): Record<string, string> {
  const h: Record<string, string> = { ...extra };
  if (token !== undefined) h.Authorization = `Bearer ${token}`;
  return h;
}

/** The error a non-2xx answer stands for, read from its `{"error": {...}}` body when it has one. */
export async function errorFromResponse(res: Response): Promise<RoomcastError> {
  let code = `http_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  let details: unknown[] | undefined;
  try {
    const body = (await res.json()) as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null;
    const e = body?.error;
    if (e && typeof e.code === 'string') code = e.code;
    if (e && typeof e.message === 'string') message = e.message;
    if (e && Array.isArray(e.details)) details = e.details;
  } catch {
    // Not JSON (a proxy's page, say): the status speaks for itself.
  }
  return new RoomcastError(code, message, { status: res.status, details, retryAfterMs: parseRetryAfter(res.headers.get('Retry-After')) });
}

/** A fetch that failed before any answer, as a RoomcastError (an abort by the caller is passed on as is). */
export function failureError(err: unknown, timedOut: boolean): RoomcastError {
  if (timedOut) return new RoomcastError('timeout', 'the hub did not answer in time', { cause: err });
  return new RoomcastError('network', 'the hub cannot be reached', { cause: err });
}

/** Sends one JSON request and returns the parsed 2xx body; throws RoomcastError otherwise. */
export async function requestJson<T>(http: HttpSettings, req: JsonRequest): Promise<T> {
  const timeout = AbortSignal.timeout(http.timeoutMs);
  const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
  const headers = authHeaders(req.token, { Accept: 'application/json', ...req.headers });
  const init: RequestInit = { method: req.method, headers, credentials: http.credentials, signal, cache: 'no-store' };
  if (req.method !== 'GET') {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(req.body ?? {});
  }
  let res: Response;
  let body: unknown;
  try {
    res = await fetch(endpoint(http.baseUrl, req.path), init);
    if (!res.ok) throw await errorFromResponse(res);
    body = await res.json();
  } catch (err) {
    if (err instanceof RoomcastError) throw err;
    if (req.signal?.aborted) throw req.signal.reason;
    throw failureError(err, timeout.aborted);
  }
  return body as T;
}
