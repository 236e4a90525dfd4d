import express, { type RequestHandler } from 'express';
import { HubError } from '../core/errors.js';

/** True when the request carries a body (a length above zero, or chunked). */
function hasBody(headers: Record<string, string | string[] | undefined>): boolean {
  const len = headers['content-length'];
  if (len !== undefined) return len !== '0';
  return headers['transfer-encoding'] !== undefined;
}

/**
 * How deeply a JSON body may nest (objects and arrays). Why a bound: re-encoding a value nested
 * some thousands deep overflows the stack (JSON.stringify is recursive), and such a value, once
 * stored, would break clients' parsers when it is replayed. 64 is far beyond any real payload.
 */
export const MAX_JSON_DEPTH = 64;

/** True when `value` nests objects or arrays more than `max` deep; iterative, so any depth is safe to check. */
function nestedDeeper(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [v, depth] = top;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    for (const child of Object.values(v as object)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * JSON bodies only: another content type is 415, a body over `limitBytes` is 413, malformed JSON
 * or a body nested deeper than MAX_JSON_DEPTH is 400 (through the error handler). An absent body
 * reads as `{}`.
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
    parse(req, res, (err?: unknown) => {
      if (err !== undefined) return next(err);
      if (nestedDeeper(req.body, MAX_JSON_DEPTH)) {
        return next(new HubError('invalid_request', `the JSON body nests deeper than ${MAX_JSON_DEPTH} levels`));
      }
      next();
    });
  };
}
