import type { ServerResponse } from 'node:http';
import { pino, type Logger } from 'pino';
import { pinoHttp, type HttpLogger } from 'pino-http';

/** Paths pino blanks in every log line: tokens, cookies and passwords never reach the logs. */
export const REDACT_PATHS = [
  'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
  'headers.authorization', 'headers.cookie', 'password', '*.password', 'token', '*.token',
  'access_token', '*.access_token',
];

/** Query parameters whose values are replaced in logged URLs. */
const SECRET_QUERY = /([?&](?:access_token|token|password)=)[^&#]*/gi;

/** A URL with secret query values replaced by `[redacted]`. */
export function redactUrl(url: string | undefined): string | undefined {
  return url?.replace(SECRET_QUERY, '$1[redacted]');
}

/** The process logger (JSON lines on stdout). */
export function createLogger(level: string, nodeId: string): Logger {
  return pino({ level, base: { node: nodeId }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
}

/** Request logging; the URL is logged without secrets, bodies are never logged. */
export function httpLogger(logger: Logger): HttpLogger {
  return pinoHttp({
    logger,
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
    serializers: {
      // Receives pino's standard request summary; headers and query are left out on purpose.
      req: (req: { id?: unknown; method?: string; url?: string; remoteAddress?: string }) => ({
        id: req.id, method: req.method, url: redactUrl(req.url), remoteAddress: req.remoteAddress,
      }),
      res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
    },
  });
}
