// Private redis-server processes for tests: free ports, a temp dir per topology (removed on stop),
// nothing on disk but the files Sentinel and Cluster insist on, every process stopped by PID.
import { waitFor } from './wait.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';

/** Where every topology listens. */
export const HOST = '127.0.0.1';
/** Bound on a process's start (loaded 2-core machines start redis-server slowly). */
const START_TIMEOUT_MS = 10_000;
/** Bound on a process's exit after SIGKILL. */
const EXIT_TIMEOUT_MS = 5_000;
/** Log bytes kept per process, for the error message of a failed start. */
const LOG_KEEP_BYTES = 8_192;
/**
 * Ports are drawn below 22000 so that a Cluster node's bus port (port + 10000) stays below the
 * kernel's ephemeral range (32768+), where an outgoing connection could take it meanwhile.
 */
const PORT_LOW = 12_000;
const PORT_SPAN = 10_000;
/** Cluster nodes listen on this offset for the cluster bus (Redis's default). */
export const CLUSTER_BUS_OFFSET = 10_000;

/** A host and a port. */
export interface Address {
  host: string;
  port: number;
}

/** One redis-server process started by a test. */
export interface RedisProc extends Address {
  pid: number;
  /** The process's log so far (its last few KB). */
  log(): string;
  /** True once the process has exited. */
  exited(): boolean;
  /** Sends SIGKILL and resolves when the process has exited. */
  kill(): Promise<void>;
}

const live = new Set<ChildProcess>();
// A test run that crashes must not leave redis-servers behind.
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, HOST, () => srv.close(() => resolve(true)));
  });
}

/** A port that was free a moment ago (and, with `withBus`, its cluster bus port too). */
export async function pickPort(withBus = false): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = PORT_LOW + Math.floor(Math.random() * PORT_SPAN);
    if ((await bindable(port)) && (!withBus || (await bindable(port + CLUSTER_BUS_OFFSET)))) return port;
  }
  throw new Error('no free port for redis-server');
}

/** A new temp dir for one topology. */
export function makeTempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `roomcast-${tag}-`));
}

/** Removes a temp dir made by makeTempDir. */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Arguments every server gets: loopback only, no RDB, no AOF, files (if any) in `dir` under names of
 * its own. Full syncs go over the socket at once (the default waits 5 s for more replicas) and a
 * replica loads them without writing a file.
 */
export function baseArgs(port: number, dir: string): string[] {
  return [
    '--port', String(port), '--bind', HOST, '--protected-mode', 'no', '--save', '', '--appendonly', 'no',
    '--dir', dir, '--dbfilename', `dump-${port}.rdb`,
    '--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0', '--repl-diskless-load', 'on-empty-db',
  ];
}

/** Opens a short-lived client to one process, runs `fn`, disconnects. */
export async function withClient<T>(addr: Address, fn: (r: Redis) => Promise<T>, opts: RedisOptions = {}): Promise<T> {
  const r = new Redis({
    host: addr.host, port: addr.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null,
    connectTimeout: 2_000, commandTimeout: 3_000, enableOfflineQueue: false, ...opts,
  });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

/** Polls until `fn` returns a value (test/support/wait.ts's waitFor, every 100 ms by default here). */
export function poll<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 100): Promise<T> {
  return waitFor(what, fn, timeoutMs, everyMs);
}

/**
 * Spawns `redis-server args` on `port` and resolves once it answers PING (`auth` for that PING
 * when the server requires a password). Rejects, with the process's log, when it exits first.
 */
export async function spawnRedis(port: number, args: string[], auth: RedisOptions = {}): Promise<RedisProc> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let log = '';
  const keep = (c: Buffer): void => {
    log = (log + c.toString('utf8')).slice(-LOG_KEEP_BYTES);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      live.delete(child);
      resolve();
    });
  });
  const proc: RedisProc = {
    host: HOST, port, pid: child.pid ?? -1,
    log: () => log,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    kill: async () => {
      if (!proc.exited()) child.kill('SIGKILL');
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`redis-server pid ${proc.pid} did not exit after SIGKILL`)), EXIT_TIMEOUT_MS);
      });
      try {
        await Promise.race([exit, bound]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
  try {
    const state = await poll(`redis-server on port ${port}`, async () => {
      if (proc.exited()) return 'exited';
      return (await withClient(proc, (r) => r.ping(), auth)) === 'PONG' && 'up';
    }, START_TIMEOUT_MS, 50);
    if (state === 'exited') throw new Error('it exited');
  } catch (err) {
    await proc.kill();
    throw new Error(`redis-server ${args.join(' ')} did not start (${String(err)}); log:\n${log}`);
  }
  return proc;
}

/** Starts a server on a fresh port, trying again on another port when the one picked was taken meanwhile. */
export async function spawnOnFreePort(
  build: (port: number) => string[], opts: { withBus?: boolean; auth?: RedisOptions } = {},
): Promise<RedisProc> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await pickPort(opts.withBus ?? false);
    try {
      return await spawnRedis(port, build(port), opts.auth);
    } catch (err) {
      last = err;
      if (!/Address already in use/i.test(String(err))) throw err;
    }
  }
  throw last;
}

/** True when no process has this pid any more. */
export function pidGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
