import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Express } from 'express';
import type { Logger } from 'pino';
import type { Backend } from './backend/backend.js';
import { memoryBackend } from './backend/memory/index.js';
import type { Config } from './config.js';
import { ConnectionManager } from './core/connection-manager.js';
import { Counters } from './core/counters.js';
import { Hub } from './core/hub.js';
import { RevocationList } from './core/revocations.js';
import { createApp } from './http/app.js';
import { createStreamHandler, isStreamRequest } from './http/stream-handler.js';
import { TokenService } from './http/tokens.js';
import { UserDirectory } from './http/users.js';
import { createLogger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { WebhookMetrics } from './observability/webhook-metrics.js';
import { startSimulators } from './simulators/index.js';
import { WebhookDispatcher } from './webhooks/dispatcher.js';
import { WebhookSender } from './webhooks/sender.js';

/**
 * Connections the kernel may queue for accept: a storm of reconnects after a deploy arrives in
 * one burst, and Node's default (511) drops the rest. The kernel caps it at net.core.somaxconn
 * (4096 on current Linux; raise it on hosts that take large storms).
 */
export const LISTEN_BACKLOG = 65_535;
/** During shutdown, how often sockets left idle by a finished request are closed. */
const IDLE_SWEEP_MS = 100;

/** A hub serving HTTP. */
export interface RunningHub {
  server: Server;
  /** The Express app (every route but `GET /events`, which is served beside it). */
  app: Express;
  hub: Hub;
  backend: Backend;
  tokens: TokenService;
  port: number;
  url: string;
  logger: Logger;
  /** Graceful stop: stop accepting, end streams with `shutdown`, finish requests, clean up. */
  shutdown(reason: string): Promise<void>;
}

/** A raw HTTP answer in the contract's error shape, for sockets Express never saw. */
function rawError(status: number, reason: string, code: string, message: string): string {
  const body = JSON.stringify({ error: { code, message } });
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/** Answers a request Node could not take (too slow, malformed) and closes its socket. */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const answer = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
    ? rawError(408, 'Request Timeout', 'request_timeout', 'the request did not arrive in time')
    : err.code === 'HPE_HEADER_OVERFLOW'
      ? rawError(431, 'Request Header Fields Too Large', 'invalid_request', 'the request headers are too large')
      : rawError(400, 'Bad Request', 'invalid_request', 'the request is not valid HTTP');
  socket.end(answer);
}

/** Chooses the backend from the config: Redis when a Redis deployment is configured (loaded only then), else memory. */
async function createBackend(config: Config, manager: ConnectionManager, counters: Counters, startedAt: number, logger: Logger): Promise<Backend> {
  if (config.redis === undefined) return memoryBackend(config, manager, counters, startedAt);
  const { redisBackend } = await import('./backend/redis/index.js');
  return redisBackend(config, manager, counters, startedAt, logger);
}

/** Why listening failed, naming the variable to change (HOST or PORT); other errors as they are. */
function listenError(err: NodeJS.ErrnoException, config: Config): Error {
  const host = config.host ?? 'all interfaces';
  if (err.syscall === 'getaddrinfo') return new Error(`HOST: cannot resolve "${config.host}" (${err.code})`);
  if (err.code === 'EADDRNOTAVAIL') return new Error(`HOST: "${config.host}" is not an address of this machine (EADDRNOTAVAIL)`);
  if (err.code === 'EADDRINUSE') return new Error(`PORT: port ${config.port} on ${host} is already in use (EADDRINUSE)`);
  if (err.code === 'EACCES') return new Error(`PORT: no permission to listen on port ${config.port} on ${host} (EACCES)`);
  return err;
}

/** The composition root: builds the whole hub from a config and starts listening. */
export async function startHub(config: Config, opts: { logger?: Logger } = {}): Promise<RunningHub> {
  const startedAt = Date.now();
  const logger = opts.logger ?? createLogger(config.logLevel, config.nodeId);
  const users = UserDirectory.load({ usersFile: config.usersFile, demo: config.demo });
  const counters = new Counters();
  const manager = new ConnectionManager(counters);
  const metrics = new Metrics(manager, counters, config.nodeId);
  const backend = await createBackend(config, manager, counters, startedAt, logger);
  const revocations = new RevocationList(backend.revocations, config.tokenMaxTtlSec);
  const tokens = new TokenService({ secret: config.jwtSecret, publicKey: config.jwtPublicKey }, config.jwtTtlSec, {
    maxTtlSec: config.tokenMaxTtlSec, revocations,
  });
  if (backend.redisErrors !== undefined) metrics.countRedisErrors(backend.redisErrors);
  const hub = new Hub({
    nodeId: config.nodeId, retryMs: config.retryMs, heartbeatMs: config.heartbeatMs,
    maxEventBytes: config.maxEventBytes, maxBufferedBytes: config.maxBufferedBytes,
    maxConnectionsPerUser: config.maxConnectionsPerUser, maxRoomsPerUser: config.maxRoomsPerUser,
    maxStreams: config.maxStreams, redisConfigured: config.redis !== undefined, startedAt,
  }, {
    broker: backend.broker, presence: backend.presence, memberships: backend.memberships, directory: backend.directory,
    census: backend.census, idempotency: backend.idempotency, revocations, manager, counters, logger, observer: metrics,
  });
  await hub.start();

  const app = createApp({
    config, hub, tokens, users, metrics, logger, startedAt,
    ...(backend.rateLimitStore ? { rateLimitStore: backend.rateLimitStore } : {}),
  });
  const streams = createStreamHandler({ hub, tokens, config, logger });
  // Streams go straight to their handler; everything else through Express. The request deadline
  // covers a request's head and body only: a stream's request is complete once its head arrived,
  // so it never cuts a stream. It is checked every quarter of it (at least every 30 s).
  const server = createServer(
    { connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(config.requestTimeoutMs / 4))) },
    (req, res) => (isStreamRequest(req) ? streams(req, res) : app(req, res)),
  );
  server.requestTimeout = config.requestTimeoutMs;
  server.headersTimeout = config.requestTimeoutMs;
  server.keepAliveTimeout = 5_000;
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException): void => reject(listenError(err, config));
    server.once('error', fail);
    server.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', fail);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  // Webhooks: delivered by whichever one process holds the delivery lease (always this one in memory mode).
  let webhooks: WebhookDispatcher | undefined;
  if (config.webhook !== undefined && backend.webhooks !== undefined) {
    const dispatcher = new WebhookDispatcher(backend.webhooks.queue, new WebhookSender(config.webhook.url, config.webhook.secret), {
      retryForMs: config.webhook.retryForMs, observer: new WebhookMetrics(metrics.registry), logger,
    });
    backend.webhooks.lease.start(() => dispatcher.start(), () => void dispatcher.pause());
    webhooks = dispatcher;
  }

  let feeds: { stop(): void } | undefined;
  if (config.simulators.length > 0) {
    const publisher = {
      publish: (input: { type: string; data: unknown; room?: string | null; sender: string }) => hub.publish(input.sender, {
        type: input.type, data: input.data, room: input.room ?? null, userId: null, connectionId: null, filters: null,
      }),
    };
    backend.lease.start(
      () => {
        feeds ??= startSimulators(config.simulators, publisher, { logger });
        logger.info({ feeds: config.simulators }, 'built-in feeds running on this process');
      },
      () => {
        feeds?.stop();
        feeds = undefined;
        logger.info('built-in feeds handed over to another process');
      },
    );
  }

  let stopping: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => (stopping ??= (async () => {
    logger.info({ reason }, 'shutting down');
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    feeds?.stop();
    // Readiness drops and new publishes are refused from this moment on.
    const hubDone = hub.shutdown(reason);
    await backend.lease.stop();
    await hubDone;
    // A keep-alive socket whose request finishes during shutdown becomes idle then: close such
    // sockets as they come, so the process exits when its last request is answered.
    const idleSweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
    void closed.finally(() => clearInterval(idleSweep));
    server.closeIdleConnections();
    // The streams' ends are recorded by now: their webhooks get one attempt before the deadline.
    const webhooksDone = webhooks?.stop(Math.max(0, config.shutdownTimeoutMs - 500));
    // Requests in flight finish; whatever is still open at the deadline is cut.
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, config.shutdownTimeoutMs - 500)).unref());
    await Promise.race([closed, deadline]);
    clearInterval(idleSweep);
    server.closeAllConnections();
    await webhooksDone;
    await backend.webhooks?.lease.stop();
    await backend.close();
    logger.info('shutdown complete');
  })());

  if (config.jwtSecretGenerated) {
    logger.warn('JWT_SECRET is not set: demo mode generated one for this run; tokens die with the process');
  }
  logger.info({ port, nodeId: config.nodeId, redis: config.redis?.form ?? false, demo: config.demo }, 'roomcast listening');
  return { server, app, hub, backend, tokens, port, url: `http://127.0.0.1:${port}`, logger, shutdown };
}
