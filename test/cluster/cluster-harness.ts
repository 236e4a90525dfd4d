// Multi-process harness: real hub processes (`node dist/main.js`) on one Redis, each suite with its
// own key prefix (deleted afterwards), and private redis-servers for outages. Processes, streams,
// tokens and waiting come from test/support.
import { Redis } from 'ioredis';
import { freePort } from '../support/net.js';
import { startChild, startHubProcess, type Child, type HubChild } from '../support/processes.js';
import { REDIS_URL } from '../support/redis-keys.js';
import { openStream, type RawStream, type Refused } from '../support/sse-client.js';
import { TEST_SECRET } from '../support/tokens.js';
import { waitFor } from '../support/wait.js';

/** A hub process of a cluster, with its node id. */
export interface HubNode extends HubChild {
  nodeId: string;
}

/**
 * Starts one hub process on Redis under `prefix` with short heartbeats, and waits until it is
 * ready. `redis` holds the variables that name the deployment (REDIS_SENTINELS and
 * REDIS_SENTINEL_NAME, or REDIS_CLUSTER_NODES); default REDIS_URL (`redisUrl`, else the machine's Redis).
 */
export async function startNode(opts: {
  prefix: string; nodeId: string; env?: Record<string, string>; redisUrl?: string; redis?: Record<string, string>; port?: number;
}): Promise<HubNode> {
  const child = await startHubProcess({
    NODE_ID: opts.nodeId, ...(opts.redis ?? { REDIS_URL: opts.redisUrl ?? REDIS_URL }), REDIS_PREFIX: opts.prefix, JWT_SECRET: TEST_SECRET,
    HEARTBEAT_MS: '500', SHUTDOWN_TIMEOUT_MS: '3000', ...opts.env,
  }, { port: opts.port, ready: '/ready' });
  return { ...child, nodeId: opts.nodeId };
}

/** Opens GET /events on a node with the token in the query, as browsers send it; a refusal answers its status. */
export function openEvents(base: string, token: string, query: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<RawStream | Refused> {
  return openStream(base, `/events?${new URLSearchParams({ access_token: token, ...query })}`, headers);
}

/** A Redis client for inspecting and cleaning one prefix. */
export async function inspect(url = REDIS_URL): Promise<Redis> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await r.connect();
  return r;
}

/** A private redis-server (for outages), on a free port, without persistence. */
export interface PrivateRedis {
  port: number;
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a private redis-server that the test can stop and start again on the same port. */
export async function privateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let p: Child | undefined;
  const self: PrivateRedis = {
    port, url: `redis://127.0.0.1:${port}`,
    async start() {
      p = startChild('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { env: { PATH: process.env.PATH } });
      await waitFor('private redis up', async () => {
        const r = new Redis(self.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        r.on('error', () => {});
        try {
          await r.connect();
          return (await r.ping()) === 'PONG';
        } finally {
          r.disconnect();
        }
      }, 5000, 50);
    },
    async stop() {
      await p?.kill('SIGKILL');
      p = undefined;
    },
  };
  await self.start();
  return self;
}
