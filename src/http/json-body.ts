import express, { type RequestHandler } from 'express';
import { HubError } from '../core/errors.js';

/** True when the request carries a body (a length above zero, or chunked). */
function hasBody(headers: Record<string, string | string[] | undefined>): boolean {
  const len = headers['content-length'];
  if (len !== undefined) return len !== '0';
  return headers['transfer-encoding'] !== undefined;
}

/**
 * JSON bodies only: another content type is 415, a body over `limitBytes` is 413, malformed JSON
 * is 400 (through the error handler). An absent body reads as `{}`.
 */
export function jsonBody(limitBytes: number): RequestHandler {
  const parse = express.json({ limit: limitBytes, strict: true, type: () => true });
  return (req, res, next) => {
    if (!hasBody(req.headers)) {
      req.body = {};
      return next();
    }
    const type = req.headers['content-type'];
    if (type === undefined || !/^application\/json\s*(;|$)/i.test(type)) {
      return next(new HubError('unsupported_media_type', 'send the body as application/json'));
    }
    parse(req, res, next);
  };
}
