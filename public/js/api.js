// @ts-check
// Thin client for roomcast's HTTP API. Authentication is the HttpOnly `roomcast_token`
// cookie that POST /auth/login sets; the page never sees or stores the token itself.

/**
 * @typedef {{ code: string, message: string, details?: unknown[] }} ApiError
 * @typedef {{ ok: true, status: number, data: any } | { ok: false, status: number, error: ApiError, retryAfter: number | null }} ApiResult
 */

/**
 * Calls the API. Never throws: network failures come back as status 0.
 * @param {'GET' | 'POST'} method
 * @param {string} path
 * @param {unknown} [body] sent as JSON on POST (an empty object when omitted)
 * @returns {Promise<ApiResult>}
 */
export async function api(method, path, body) {
  /** @type {RequestInit} */
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' }, cache: 'no-store' };
  if (method !== 'GET') {
    init.headers = { ...init.headers, 'Content-Type': 'application/json' };
    init.body = JSON.stringify(body ?? {});
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    return { ok: false, status: 0, error: { code: 'network', message: 'The hub cannot be reached.' }, retryAfter: null };
  }
  let json = null;
  try {
    json = await res.json();
  } catch {
    json = null;
  }
  if (res.ok) return { ok: true, status: res.status, data: json };
  const retry = Number(res.headers.get('Retry-After'));
  const error = json && typeof json === 'object' && json.error && typeof json.error.message === 'string'
    ? json.error
    : { code: `http_${res.status}`, message: res.statusText || `HTTP ${res.status}` };
  return { ok: false, status: res.status, error, retryAfter: Number.isFinite(retry) && retry > 0 ? retry : null };
}

/**
 * A person-readable sentence for a failed call.
 * @param {{ status: number, error: ApiError, retryAfter: number | null }} r
 */
export function describeError(r) {
  const { error } = r;
  let text = error.message;
  if (Array.isArray(error.details) && error.details.length > 0) {
    const parts = error.details.slice(0, 3).map((d) => {
      if (d && typeof d === 'object') {
        const o = /** @type {Record<string, unknown>} */ (d);
        const path = Array.isArray(o.path) ? o.path.join('.') : typeof o.path === 'string' ? o.path : typeof o.field === 'string' ? o.field : '';
        const msg = typeof o.message === 'string' ? o.message : '';
        return [path, msg].filter(Boolean).join(': ');
      }
      return String(d);
    }).filter(Boolean);
    if (parts.length > 0) text += ` (${parts.join('; ')})`;
  }
  if (r.retryAfter) text += ` Try again in ${r.retryAfter} s.`;
  return text;
}

/**
 * A failure the client library threw (a RoomcastError, or anything else) in the shape describeError reads.
 * @param {unknown} err
 * @returns {{ status: number, error: ApiError, retryAfter: number | null }}
 */
export function failureOf(err) {
  const e = /** @type {{ status?: unknown, code?: unknown, message?: unknown, details?: unknown, retryAfterMs?: unknown }} */ (err ?? {});
  const retryMs = typeof e.retryAfterMs === 'number' ? e.retryAfterMs : null;
  return {
    status: typeof e.status === 'number' ? e.status : 0,
    error: {
      code: typeof e.code === 'string' ? e.code : 'error',
      message: typeof e.message === 'string' ? e.message : String(err),
      ...(Array.isArray(e.details) ? { details: e.details } : {}),
    },
    retryAfter: retryMs === null ? null : Math.ceil(retryMs / 1000),
  };
}

/** Room ids and event types, as the contract defines them. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
