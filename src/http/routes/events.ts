import { Router, type RequestHandler } from 'express';
import { HubError } from '../../core/errors.js';
import type { Hub } from '../../core/hub.js';
import { principalOf } from '../auth.js';
import { metadataFromQuery, queryString, roomParam } from '../schemas.js';
import { MAX_LAST_EVENT_ID_CHARS } from '../stream-handler.js';

/** History answers hold at most this many events. */
const MAX_HISTORY_LIMIT = 1000;

/** `GET /events/history` (the stream itself is served by stream-handler.ts, beside Express). */
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

  return router;
}
