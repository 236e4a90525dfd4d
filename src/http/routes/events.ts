import { Router, type RequestHandler } from 'express';
import type { Connection } from '../../core/connection.js';
import { HubError } from '../../core/errors.js';
import type { Hub } from '../../core/hub.js';
import { isRoomId } from '../../core/names.js';
import { principalOf } from '../auth.js';
import { metadataFromQuery, queryString, roomParam } from '../schemas.js';
import { SocketSink } from '../sse-sink.js';

/** Most rooms one stream may name at connect. */
const MAX_ROOMS_AT_CONNECT = 64;
/** A longer Last-Event-ID cannot be one of ours; it is kept (for history-gap) but cut to this. */
const MAX_LAST_EVENT_ID_CHARS = 128;
/** History answers hold at most this many events. */
const MAX_HISTORY_LIMIT = 1000;

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

/** `GET /events` (the stream) and `GET /events/history`. */
export function eventsRouter(hub: Hub, auth: RequestHandler): Router {
  const router = Router();

  router.get('/events/history', auth, async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const limitRaw = queryString(q, 'limit');
    let limit = 100;
    if (limitRaw !== undefined) {
      limit = /^\d+$/.test(limitRaw) ? Number(limitRaw) : NaN;
      if (!(limit >= 1 && limit <= MAX_HISTORY_LIMIT)) {
        throw new HubError('invalid_request', 'limit must be 1..1000', [{ path: 'query.limit', message: 'expected a whole number from 1 to 1000' }]);
      }
    }
    const roomRaw = queryString(q, 'room');
    const answer = await hub.history(principalOf(res), {
      after: queryString(q, 'after')?.slice(0, MAX_LAST_EVENT_ID_CHARS) || null,
      limit,
      room: roomRaw === undefined ? null : roomParam(roomRaw),
      metadata: metadataFromQuery(q),
    });
    res.json(answer);
  });

  router.get('/events', auth, async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const rooms = roomsFromQuery(queryString(q, 'rooms'));
    const metadata = metadataFromQuery(q);
    const header = req.headers['last-event-id'];
    const lastRaw = typeof header === 'string' ? header : queryString(q, 'lastEventId');
    const lastEventId = lastRaw === undefined || lastRaw === '' ? null : lastRaw.slice(0, MAX_LAST_EVENT_ID_CHARS);

    // The client may leave while the stream is being admitted or replayed.
    const state: { conn?: Connection; gone: boolean } = { gone: false };
    res.once('close', () => {
      state.gone = true;
      if (state.conn !== undefined) hub.closeStream(state.conn);
    });
    state.conn = await hub.openStream(principalOf(res), { rooms, metadata, lastEventId }, () => SocketSink.open(res));
    if (state.gone) hub.closeStream(state.conn);
  });

  return router;
}
