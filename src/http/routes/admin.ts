import { Router, type RequestHandler } from 'express';
import type { Hub } from '../../core/hub.js';
import { principalOf, requireRole } from '../auth.js';
import { disconnectSchema, revokeSchema } from '../admin-schemas.js';
import { parseWith } from '../schemas.js';

/** The `reason` a disconnect carries when the operator gives none. */
export const DEFAULT_DISCONNECT_REASON = 'disconnected by an operator';

/** `/admin/disconnect` and `/admin/revoke`, role admin. */
export function adminRouter(hub: Hub, auth: RequestHandler, json: RequestHandler): Router {
  const router = Router();
  const admin = requireRole('admin');

  router.post('/admin/disconnect', auth, admin, json, async (req, res) => {
    const body = parseWith(disconnectSchema, req.body);
    const target = body.userId !== undefined ? { userId: body.userId } : { connectionId: body.connectionId ?? '' };
    const disconnected = await hub.disconnect(target, body.reason ?? DEFAULT_DISCONNECT_REASON);
    req.log.info({ operator: principalOf(res).userId, ...target, disconnected }, 'operator disconnected streams');
    res.json({ disconnected });
  });

  router.post('/admin/revoke', auth, admin, json, async (req, res) => {
    const body = parseWith(revokeSchema, req.body);
    const before = new Date(body.before === undefined ? Date.now() : Date.parse(body.before)).toISOString();
    await hub.revoke(body.userId, Date.parse(before));
    req.log.info({ operator: principalOf(res).userId, userId: body.userId, before }, 'operator revoked tokens');
    res.json({ userId: body.userId, before });
  });

  return router;
}
