import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit, type Store } from 'express-rate-limit';
import { principalOf } from './auth.js';
import { sendError } from './errors.js';

/** Window of every rate limit, in milliseconds. */
export const RATE_WINDOW_MS = 60_000;

/** How a limiter counts; `store` shares the counts between processes (Redis), else memory. */
export interface LimiterOptions {
  limit: number;
  key: (req: Request, res: Response) => string;
  message: string;
  store?: Store;
  /** Count only failed requests (logins). */
  failuresOnly?: boolean;
  /** Requests not counted at all. */
  skip?: (req: Request, res: Response) => boolean;
}

/**
 * A per-minute limit in express-rate-limit's conventions (draft-7 `RateLimit` headers): beyond it,
 * 429 `rate_limited` with `Retry-After` (seconds until the window resets).
 */
export function limiter(o: LimiterOptions): RequestHandler {
  return rateLimit({
    windowMs: RATE_WINDOW_MS,
    limit: o.limit,
    skipSuccessfulRequests: o.failuresOnly ?? false,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: o.key,
    ...(o.skip ? { skip: o.skip } : {}),
    ...(o.store ? { store: o.store } : {}),
    handler: (req, res) => {
      const resetTime = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const retryAfter = resetTime ? Math.max(1, Math.ceil((resetTime.getTime() - Date.now()) / 1000)) : RATE_WINDOW_MS / 1000;
      sendError(res, 'rate_limited', o.message, undefined, retryAfter);
    },
  });
}

/** Failed logins per client address. */
export function loginByAddress(limit: number, store?: Store): RequestHandler {
  return limiter({
    limit, failuresOnly: true, message: 'too many login attempts; try again later', ...(store ? { store } : {}),
    key: (req) => `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`,
  });
}

/** Failed logins per username. */
export function loginByUsername(limit: number, store?: Store): RequestHandler {
  return limiter({
    limit, failuresOnly: true, message: 'too many login attempts; try again later', ...(store ? { store } : {}),
    key: (req) => {
      const username: unknown = (req.body as { username?: unknown } | undefined)?.username;
      return `user:${typeof username === 'string' ? username.toLowerCase().slice(0, 128) : ''}`;
    },
  });
}

/** Join, leave and chat requests per user (USER_RATE_LIMIT); publisher and admin tokens are not counted. */
export function perUser(limit: number, store?: Store): RequestHandler {
  return limiter({
    limit, message: 'too many room requests; slow down', ...(store ? { store } : {}),
    // Runs after authentication: the principal is known.
    key: (_req, res) => principalOf(res).userId,
    skip: (_req, res) => principalOf(res).role !== 'user',
  });
}
