import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Connection } from '../core/connection.js';
import { HubError } from '../core/errors.js';
import type { Hub } from '../core/hub.js';
import { isRoomId } from '../core/names.js';
import { redactUrl } from '../observability/logger.js';
import { extractToken, principalFrom } from './auth.js';
import { sendError } from './errors.js';
import { metadataFromQuery, queryString } from './schemas.js';
import { SocketSink } from './sse-sink.js';
import type { TokenService } from './tokens.js';

/** Most rooms one stream may name at connect. */
const MAX_ROOMS_AT_CONNECT = 64;
/** A longer Last-Event-ID cannot be one of ours; it is kept (for history-gap) but cut to this. */
export const MAX_LAST_EVENT_ID_CHARS = 128;
/** The longest request target a stream may have. */
const MAX_URL_CHARS = 8192;

/** True for the requests the stream handler takes: `GET /events` (any query), nothing else. */
export function isStreamRequest(req: IncomingMessage): boolean {
  if (req.method !== 'GET') return false;
  const url = req.url ?? '';
  return url === '/events' || url.startsWith('/events?');
}

function roomsFromQuery(raw: string | undefined): string[] {
  if (raw === undefined || raw === '') return [];
  const rooms = [...new Set(raw.split(',').map((r) => r.trim()).filter(Boolean))];
  if (rooms.length > MAX_ROOMS_AT_CONNECT) {
    throw new HubError('invalid_request', `at most ${MAX_ROOMS_AT_CONNECT} rooms`, [{ path: 'query.rooms', message: 'too many rooms' }]);
  }
  for (const r of rooms) {
    if (!isRoomId(r)) throw new HubError('invalid_request', 'invalid room id', [{ path: 'query.rooms', message: `"${r.slice(0, 80)}" is not a room id` }]);
  }
  return rooms;
}

/** The query as a record; a repeated parameter becomes an array (which the parsers refuse). */
function queryRecord(url: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const q = url.indexOf('?');
  if (q < 0) return out;
  for (const [k, v] of new URLSearchParams(url.slice(q + 1))) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/** What the socket's close listener needs to know: the connection, once there is one. */
interface StreamState {
  conn?: Connection;
  gone: boolean;
}

/**
 * The client may leave while the stream is being admitted or replayed, or any time after. The
 * listener is made here, apart from the request handler, so that what it keeps alive for the
 * stream's life is this state and nothing of the request.
 */
function watchClose(socket: Socket, hub: Hub, logger: Logger): StreamState {
  const state: StreamState = { gone: false };
  socket.once('close', () => {
    state.gone = true;
    if (state.conn !== undefined) {
      hub.closeStream(state.conn);
      logger.debug({ connectionId: state.conn.id, userId: state.conn.userId, reason: state.conn.closed ?? 'client' }, 'stream closed');
    }
  });
  return state;
}

/**
 * `GET /events`, served beside Express rather than through it: a stream lives for hours, so it
 * should not keep a router's, compressor's and request logger's per-request state alive. The
 * handshake does what the middleware would (CORS, auth, validation, logging) and hands the socket
 * to the hub.
 */
export function createStreamHandler(deps: { hub: Hub; tokens: TokenService; config: Config; logger: Logger }): (req: IncomingMessage, res: ServerResponse) => void {
  const { hub, tokens, config, logger } = deps;
  const allowOrigin = (origin: string | undefined): boolean =>
    origin !== undefined && config.corsOrigins !== undefined && (config.corsOrigins === '*' || config.corsOrigins.includes(origin));

  const open = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/events';
    if (url.length > MAX_URL_CHARS) throw new HubError('invalid_request', 'the request target is too long');
    const query = queryRecord(url);
    const principal = principalFrom(tokens, extractToken(req.headers, query));
    const rooms = roomsFromQuery(queryString(query, 'rooms'));
    const metadata = metadataFromQuery(query);
    const header = req.headers['last-event-id'];
    const lastRaw = typeof header === 'string' ? header : queryString(query, 'lastEventId');
    const lastEventId = lastRaw === undefined || lastRaw === '' ? null : lastRaw.slice(0, MAX_LAST_EVENT_ID_CHARS);

    const state = watchClose(req.socket, hub, logger);
    state.conn = await hub.openStream(principal, { rooms, metadata, lastEventId }, () => SocketSink.open(res));
    logger.info({ connectionId: state.conn.id, userId: principal.userId, url: redactUrl(url) }, 'stream opened');
    if (state.gone) hub.closeStream(state.conn);
  };

  return (req, res) => {
    const origin = req.headers.origin;
    if (allowOrigin(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin as string);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Vary', 'Origin');
    }
    res.setHeader('X-Content-Type-Options', 'nosniff');
    open(req, res).catch((err: unknown) => {
      if (err instanceof HubError) {
        logger.info({ status: err.status, code: err.code, url: redactUrl(req.url) }, 'stream refused');
        return sendError(res, err.code, err.message, err.details, err.retryAfterSec);
      }
      logger.error({ err }, 'stream failed');
      sendError(res, 'internal', 'internal error');
    });
  };
}
