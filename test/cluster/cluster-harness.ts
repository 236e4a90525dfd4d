/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers and SSE payloads are read loosely in tests */
// Multi-process harness: real hub processes (`node dist/main.js`) on one Redis, each suite with its
// own key prefix (deleted afterwards), SSE streams read from raw HTTP responses, private
// redis-servers for outages. Every child is tracked and killed in stopAll().
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import jwt from 'jsonwebtoken';
import { REDIS_URL } from '../support/redis-keys.js';
import { takeFrames } from '../support/sse-client.js';
import { sleep, waitFor } from '../support/wait.js';

export { deletePrefix, REDIS_URL } from '../support/redis-keys.js';
export { sleep, waitFor } from '../support/wait.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const MAIN = `${ROOT}dist/main.js`;
export const SECRET = 'cluster-test-secret-0123456789-abcdefghijklmnop';

export function assertBuilt(): void {
  if (!existsSync(MAIN)) throw new Error('dist/main.js is missing: run `npm run build` first');
}

export function newPrefix(tag: string): string {
  return `test-${tag}-${randomBytes(4).toString('hex')}:`;
}

export function token(sub: string, role: 'user' | 'publisher' | 'admin' = 'user', ttlSec = 600): string {
  return jwt.sign({ sub, role }, SECRET, { algorithm: 'HS256', expiresIn: ttlSec });
}

/** A free port (below the ephemeral range, so a client connection cannot take it meanwhile). */
export function freePort(): Promise<number> {
  return freeConsecutivePorts(1);
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** `n` consecutive free ports, below the kernel's ephemeral range (outgoing connections do not take them). */
export async function freeConsecutivePorts(n: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 10_000);
    let ok = true;
    for (let i = 0; i < n && ok; i++) ok = await bindable(base + i);
    if (ok) return base;
  }
  throw new Error(`no ${n} consecutive free ports`);
}

const children = new Set<ChildProcess>();

/** A child process with its output kept. */
export interface Proc {
  proc: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function startProc(cmd: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  const proc = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => {
      children.delete(proc);
      resolve({ code, signal });
    });
  });
  return {
    proc, exited, output: () => out,
    async kill(signal = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await Promise.race([exited, sleep(12_000)]);
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** Kills every child still running (afterAll). */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map(async (c) => {
    c.kill('SIGKILL');
    await Promise.race([new Promise((r) => c.once('exit', r)), sleep(3000)]);
  }));
}

export interface HubNode extends Proc {
  port: number;
  url: string;
  nodeId: string;
}

/**
 * Starts a hub process on a Redis deployment: `redis` holds the variables that name it (e.g.
 * REDIS_SENTINELS and REDIS_SENTINEL_NAME, or REDIS_CLUSTER_NODES); default REDIS_URL (`redisUrl`,
 * else the machine's Redis).
 */
export async function startNode(opts: {
  prefix: string; nodeId: string; env?: NodeJS.ProcessEnv; redisUrl?: string; redis?: Record<string, string>; port?: number;
}): Promise<HubNode> {
  const port = opts.port ?? await freePort();
  const p = startProc(process.execPath, [MAIN], {
    PATH: process.env.PATH, HOME: process.env.HOME,
    PORT: String(port), HOST: '127.0.0.1', NODE_ID: opts.nodeId,
    ...(opts.redis ?? { REDIS_URL: opts.redisUrl ?? REDIS_URL }), REDIS_PREFIX: opts.prefix, JWT_SECRET: SECRET,
    HEARTBEAT_MS: '500', LOG_LEVEL: 'warn', SIMULATORS: 'none', SHUTDOWN_TIMEOUT_MS: '3000',
    ...opts.env,
  });
  const node = { ...p, port, url: `http://127.0.0.1:${port}`, nodeId: opts.nodeId };
  await waitFor(`node ${opts.nodeId} healthy`, async () => {
    if (p.proc.exitCode !== null) throw new Error(`exited: ${p.output()}`);
    const res = await fetch(`${node.url}/ready`);
    return res.status === 200;
  }, 15_000, 50);
  return node;
}

export async function api(base: string, method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal: AbortSignal.timeout(8000) });
  const text = await res.text();
  let body: unknown = text;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body, headers: res.headers };
}

export interface SseMessage {
  id: string | undefined;
  event: string;
  data: any;
  /** performance.now() and Date.now() when it was read. */
  at: number;
  wall: number;
}

/** One SSE stream read from a raw HTTP response. */
export class Stream {
  readonly messages: SseMessage[] = [];
  status = 0;
  ended = false;
  private buf = '';
  private req: ClientRequest | undefined;
  private res: IncomingMessage | undefined;
  pings = 0;

  static async open(base: string, tok: string, query: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<Stream> {
    const s = new Stream();
    const qs = new URLSearchParams({ access_token: tok, ...query }).toString();
    await new Promise<void>((resolve, reject) => {
      const req = request(`${base}/events?${qs}`, { headers }, (res) => {
        s.res = res;
        s.status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => s.feed(chunk));
        res.on('end', () => { s.ended = true; });
        res.on('close', () => { s.ended = true; });
        res.on('error', () => { s.ended = true; });
        resolve();
      });
      req.on('error', (err) => (s.status === 0 ? reject(err) : undefined));
      req.setTimeout(10_000, () => req.destroy(new Error('stream open timed out')));
      req.end();
      s.req = req;
    });
    if (s.status === 200) await waitFor('connected event', () => s.messages.some((m) => m.event === 'connected'), 5000, 5);
    else await waitFor('error body', () => s.ended, 5000, 5);
    return s;
  }

  private feed(chunk: string): void {
    const { frames, rest } = takeFrames(this.buf + chunk);
    this.buf = rest;
    for (const f of frames) {
      if (f.comment !== undefined) this.pings++;
      if (f.data === undefined) continue;
      let parsed: unknown = f.data;
      try { parsed = JSON.parse(f.data); } catch { /* raw */ }
      this.messages.push({ id: f.id, event: f.event ?? 'message', data: parsed, at: performance.now(), wall: Date.now() });
    }
  }

  get connectionId(): string {
    return this.messages.find((m) => m.event === 'connected')?.data.connectionId;
  }

  /** Published events (those with an id). */
  events(): SseMessage[] {
    return this.messages.filter((m) => m.id !== undefined);
  }

  ofType(event: string): SseMessage[] {
    return this.messages.filter((m) => m.event === event);
  }

  close(): void {
    this.req?.destroy();
    this.res?.destroy();
  }
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

export async function privateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let p: Proc | undefined;
  const self: PrivateRedis = {
    port, url: `redis://127.0.0.1:${port}`,
    async start() {
      p = startProc('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { PATH: process.env.PATH });
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

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}
