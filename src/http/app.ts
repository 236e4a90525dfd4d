import { fileURLToPath } from 'node:url';
import compression from 'compression';
import cors from 'cors';
import express, { type Express } from 'express';
import type { Store } from 'express-rate-limit';
import helmet from 'helmet';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Hub } from '../core/hub.js';
import { HubError } from '../core/errors.js';
import { authenticate } from './auth.js';
import { errorHandler, notFound } from './errors.js';
import { openApiRouter } from './openapi.js';
import { loginByAddress, loginByUsername, perUser } from './rate-limits.js';
import { jsonBody } from './json-body.js';
import { adminRouter } from './routes/admin.js';
import { authRouter } from './routes/auth.js';
import { broadcastRouter } from './routes/broadcast.js';
import { eventsRouter } from './routes/events.js';
import { opsRouter } from './routes/ops.js';
import { roomsRouter } from './routes/rooms.js';
import { sdkRouter } from './routes/sdk.js';
import type { TokenService } from './tokens.js';
import type { UserDirectory } from './users.js';
import type { Metrics } from '../observability/metrics.js';
import { httpLogger } from '../observability/logger.js';

/** Where the dashboard lives. */
export const PUBLIC_DIR = fileURLToPath(new URL('../../public', import.meta.url));
/** Slack over MAX_EVENT_BYTES for a publish body (target fields and JSON whitespace). */
const BODY_SLACK_BYTES = 16_384;
/** Most events in one batch. */
const MAX_BATCH = 100;

/** Everything the HTTP app is built from. */
export interface AppDeps {
  config: Config;
  hub: Hub;
  tokens: TokenService;
  users: UserDirectory;
  metrics: Metrics;
  logger: Logger;
  startedAt: number;
  /** Rate-limit stores (Redis in cluster mode); memory when absent. */
  rateLimitStore?: (name: string) => Store;
}

/** The Express app: middleware, routers, static dashboard, error handling. */
export function createApp(deps: AppDeps): Express {
  const { config, hub, tokens } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.use(httpLogger(deps.logger));
  // Shutdown: requests that arrive from now on are refused (health and readiness still answer);
  // those already in flight are finished.
  app.use((req, res, next) => {
    if (!hub.closing || (req.method === 'GET' && (req.path === '/health' || req.path === '/ready'))) return next();
    res.setHeader('Connection', 'close');
    next(new HubError('unavailable', 'the hub is shutting down'));
  });
  app.use(helmet({
    contentSecurityPolicy: {
      directives: {
        'connect-src': ["'self'"], 'img-src': ["'self'", 'data:'], 'style-src': ["'self'"],
        // Plain-http deployments (localhost, behind a TLS proxy) must not have requests rewritten.
        'upgrade-insecure-requests': null,
      },
    },
  }));
  if (config.corsOrigins !== undefined) {
    app.use(cors({
      origin: config.corsOrigins === '*' ? true : [...config.corsOrigins],
      credentials: true,
      exposedHeaders: ['Retry-After', 'WWW-Authenticate'],
    }));
  }
  // Streams never pass through compression: they take the socket over, and no-transform says so too.
  app.use(compression({ filter: (req, res) => !String(res.getHeader('Content-Type') ?? '').startsWith('text/event-stream') && compression.filter(req, res) }));

  const auth = authenticate(tokens);
  const json = jsonBody(config.maxEventBytes + BODY_SLACK_BYTES);
  const batchJson = jsonBody(MAX_BATCH * (config.maxEventBytes + 1024) + BODY_SLACK_BYTES);
  const store = (name: string): Store | undefined => deps.rateLimitStore?.(name);
  const loginLimiters = [
    loginByAddress(config.loginRateLimit, store('login-ip')),
    loginByUsername(config.loginRateLimit, store('login-user')),
  ];
  const userLimiter = perUser(config.userRateLimit, store('user'));

  app.use(opsRouter({ hub, metrics: deps.metrics, auth, nodeId: config.nodeId, startedAt: deps.startedAt }));
  app.use(authRouter({ tokens, users: deps.users, auth, json, loginLimiters }));
  app.use(eventsRouter(hub, auth));
  app.use(roomsRouter(hub, auth, json, userLimiter));
  app.use(broadcastRouter(hub, auth, json, batchJson));
  app.use(sdkRouter());
  app.use(adminRouter(hub, auth, json));
  app.use(openApiRouter());
  app.use(express.static(PUBLIC_DIR, { index: 'index.html', maxAge: 0 }));
  app.use(notFound);
  app.use(errorHandler);
  return app;
}
