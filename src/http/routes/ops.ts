import { Router, type RequestHandler } from 'express';
import { STORE_RETRY_AFTER_SEC } from '../../core/errors.js';
import type { Hub } from '../../core/hub.js';
import { fullRetryAfterSec } from '../../core/limits.js';
import type { Metrics } from '../../observability/metrics.js';
import { requireRole } from '../auth.js';
import { sendError } from '../errors.js';

/** `/health`, `/ready`, `/stats`, `/metrics`. */
export function opsRouter(opts: { hub: Hub; metrics: Metrics; auth: RequestHandler; nodeId: string; startedAt: number }): Router {
  const { hub, metrics, auth, nodeId, startedAt } = opts;
  const router = Router();

  router.get('/health', (_req, res) => {
    res.json({ status: 'ok', nodeId, uptimeSec: Math.floor((Date.now() - startedAt) / 1000) });
  });

  router.get('/ready', (_req, res) => {
    if (hub.ready()) {
      res.json({ status: 'ready', nodeId });
      return;
    }
    const why = hub.closing ? 'the process is shutting down' : hub.full ? 'the process holds MAX_STREAMS streams' : 'Redis is unreachable';
    // Waiting helps a full process (streams close) and a Redis outage; not one that is shutting down.
    sendError(res, 'unavailable', why, undefined, hub.closing ? undefined : hub.full ? fullRetryAfterSec() : STORE_RETRY_AFTER_SEC);
  });

  router.get('/stats', auth, requireRole('publisher', 'admin'), async (_req, res) => {
    res.json(await hub.stats());
  });

  router.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  return router;
}
