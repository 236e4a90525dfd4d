import { parse as parseCookie } from 'cookie';
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestHandler, Response } from 'express';
import { HubError } from '../core/errors.js';
import type { Principal, Role } from '../core/principal.js';
import type { TokenService } from './tokens.js';

/** The cookie that carries a browser's token. */
export const TOKEN_COOKIE = 'roomcast_token';

/**
 * The request's token: `Authorization: Bearer`, then `access_token` query, then the cookie. Another
 * scheme (Basic, for a site behind HTTP authentication) is not ours and falls through; a Bearer
 * header without a token is an invalid token.
 */
export function extractToken(headers: IncomingHttpHeaders, query: Record<string, unknown>): string | undefined {
  const header = headers.authorization;
  if (header !== undefined && /^Bearer(\s|$)/i.test(header)) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m?.[1] ?? '';
  }
  const q = query.access_token;
  if (typeof q === 'string' && q !== '') return q;
  const cookies = headers.cookie;
  if (cookies !== undefined) {
    const value = parseCookie(cookies)[TOKEN_COOKIE];
    if (value) return value;
  }
  return undefined;
}

/** The verified caller of a token, or a 401 HubError. */
export function principalFrom(tokens: TokenService, token: string | undefined): Principal {
  if (token === undefined) throw new HubError('unauthenticated', 'a bearer token is required');
  const principal = tokens.verify(token);
  if (principal === null) throw new HubError('unauthenticated', 'the token is invalid or expired');
  if (tokens.revoked(principal)) throw new HubError('unauthenticated', 'the token was revoked');
  return principal;
}

/** The verified caller of a request that passed `authenticate`. */
export function principalOf(res: Response): Principal {
  return res.locals.principal as Principal;
}

/** Verifies the request's token; 401 `unauthenticated` when missing, forged or expired. */
export function authenticate(tokens: TokenService): RequestHandler {
  return (req, res, next) => {
    res.locals.principal = principalFrom(tokens, extractToken(req.headers, req.query as Record<string, unknown>));
    next();
  };
}

/** 403 unless the caller has one of these roles. */
export function requireRole(...roles: Role[]): RequestHandler {
  return (_req, res, next) => {
    if (!roles.includes(principalOf(res).role)) {
      return next(new HubError('forbidden', `this needs role ${roles.join(' or ')}`));
    }
    next();
  };
}
