import type { ServerResponse } from 'node:http';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import { ERROR_STATUS, HubError, type ErrorCode, type ErrorDetail } from '../core/errors.js';

/** Writes the contract's error body on any Node response (Express's included). */
export function sendError(res: ServerResponse, code: ErrorCode, message: string, details?: ErrorDetail[], retryAfterSec?: number): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: details === undefined ? { code, message } : { code, message, details } });
  res.statusCode = ERROR_STATUS[code];
  if (code === 'unauthenticated') res.setHeader('WWW-Authenticate', 'Bearer realm="roomcast"');
  if (retryAfterSec !== undefined) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(retryAfterSec))));
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/** Zod issues as the contract's `details`, each naming its field path. */
export function zodDetails(err: ZodError): ErrorDetail[] {
  return err.issues.map((i) => ({ path: i.path.map(String).join('.') || '(body)', message: i.message }));
}

/** 404 for every unknown route. */
export const notFound: RequestHandler = (req, res) => {
  sendError(res, 'not_found', `no route for ${req.method} ${req.path}`);
};

interface BodyParserError {
  type?: string;
  status?: number;
}

/** Maps every error to the contract's shape; unknown errors are logged and answered 500 without internals. */
export const errorHandler: ErrorRequestHandler = (err: unknown, req, res, _next) => {
  if (err instanceof HubError) return sendError(res, err.code, err.message, err.details, err.retryAfterSec);
  if (err instanceof ZodError) return sendError(res, 'invalid_request', 'the request is invalid', zodDetails(err));
  const type = (err as BodyParserError | null)?.type;
  switch (type) {
    case 'entity.too.large':
      return sendError(res, 'payload_too_large', 'the request body is too large');
    case 'entity.parse.failed':
      return sendError(res, 'invalid_request', 'the body is not valid JSON', [{ path: '(body)', message: 'malformed JSON' }]);
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return sendError(res, 'unsupported_media_type', 'unsupported body encoding or charset');
    case 'request.aborted':
    case 'request.size.invalid':
      return sendError(res, 'invalid_request', 'the request body was incomplete');
    default:
      break;
  }
  const status = (err as BodyParserError | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return sendError(res, 'invalid_request', 'the request is invalid');
  }
  req.log?.error({ err }, 'unhandled error');
  sendError(res, 'internal', 'internal error');
};
