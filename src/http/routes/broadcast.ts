import { Router, type Request, type RequestHandler } from 'express';
import { HubError } from '../../core/errors.js';
import type { Hub } from '../../core/hub.js';
import type { PublishInput } from '../../core/publish.js';
import { principalOf, requireRole } from '../auth.js';
import { batchSchema, parseWith, publishSchema, roomParam, toPublishInput, userIdSchema } from '../schemas.js';

/** Idempotency keys: printable ASCII, 1-255 characters. */
const IDEMPOTENCY_KEY_RE = /^[\x21-\x7e]{1,255}$/;

function idempotencyKey(req: Request): string | undefined {
  const key = req.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY_RE.test(key)) {
    throw new HubError('invalid_request', 'invalid Idempotency-Key', [{ path: 'headers.idempotency-key', message: '1-255 printable ASCII characters' }]);
  }
  return key;
}

/** `/broadcast`, its room and user aliases, and `/broadcast/batch`. */
export function broadcastRouter(hub: Hub, auth: RequestHandler, json: RequestHandler, batchJson: RequestHandler): Router {
  const router = Router();
  const canPublish = requireRole('publisher', 'admin');

  const publishOne = (pathTarget: (req: Request) => Partial<PublishInput>): RequestHandler => async (req, res) => {
    const body = parseWith(publishSchema, req.body);
    const forced = pathTarget(req);
    if (Object.keys(forced).length > 0 && (body.room != null || body.userId != null || body.connectionId != null)) {
      throw new HubError('invalid_request', 'the target is in the path; do not give another in the body', [{ path: 'room', message: 'not allowed here' }]);
    }
    const input = { ...toPublishInput(body), ...forced };
    const sender = principalOf(res).userId;
    const answer = await hub.idempotent(sender, idempotencyKey(req), { endpoint: req.path, input }, (record) => hub.publish(sender, input, record));
    res.status(202).json(answer);
  };

  router.post('/broadcast', auth, canPublish, json, publishOne(() => ({})));
  router.post('/broadcast/room/:roomId', auth, canPublish, json, publishOne((req) => ({ room: roomParam(req.params.roomId) })));
  router.post('/broadcast/user/:userId', auth, canPublish, json, publishOne((req) => ({
    userId: parseWith(userIdSchema, req.params.userId, 'the user id is invalid'),
  })));

  router.post('/broadcast/batch', auth, canPublish, batchJson, async (req, res) => {
    const body = parseWith(batchSchema, req.body);
    const sender = principalOf(res).userId;
    const inputs = body.events.map(toPublishInput);
    res.status(202).json(await hub.idempotent(sender, idempotencyKey(req), { endpoint: req.path, inputs }, (record) => hub.publishBatch(sender, inputs, record)));
  });

  return router;
}
