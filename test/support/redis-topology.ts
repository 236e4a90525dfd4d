// Real Redis topologies for tests, from Debian's redis-server: a standalone server, a Sentinel set
// (primary + replicas + sentinels) and a Cluster (re-exported from ./redis-cluster.ts). Each runs on
// free loopback ports with nothing on disk but a temp dir that stop() removes; every handle's stop()
// SIGKILLs every process it started and waits for them to exit.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RedisOptions } from 'ioredis';
import {
  HOST, baseArgs, makeTempDir, poll, removeTempDir, spawnOnFreePort, withClient, type Address, type RedisProc,
} from './redis-process.js';

export { startCluster, type ClusterOptions, type RedisClusterTopology } from './redis-cluster.js';
export { pidGone, type Address } from './redis-process.js';

/** Sentinel timings: a dead primary is noticed after 1 s and a failover completes in a few seconds. */
const DOWN_AFTER_MS = 1_000;
/** Also the pause before a failed election is tried again (twice this), so kept low. */
const FAILOVER_TIMEOUT_MS = 3_000;
/** Bound on replicas syncing and sentinels discovering each other at start. */
const SETTLE_TIMEOUT_MS = 15_000;
/** Default bound on waitForNewPrimary. */
const FAILOVER_WAIT_MS = 20_000;

/** A process and the processes it started, stoppable as one. */
export interface Stoppable {
  /** The pids of every process this handle started (dead ones included). */
  pids(): number[];
  /** The temp dir this handle uses (removed by stop()). */
  dir: string;
  /** SIGKILLs every process it started, waits for them to exit, removes the temp dir. */
  stop(): Promise<void>;
}

/** What startRedisServer accepts. */
export interface ServerOptions {
  /** `requirepass` for the default user (and `masterauth` when a replica). */
  password?: string;
  /** An ACL user with every permission; without `password` the default user is switched off. */
  user?: { name: string; password: string };
  /** Start as a replica of this server (with the same credentials). */
  replicaof?: Address;
  /** Use this dir instead of a new temp dir (the caller removes it). */
  dir?: string;
  /** More `--option value` arguments. */
  args?: string[];
}

/** A private standalone (or replica) redis-server. */
export interface RedisServer extends Address, Stoppable {
  pid: number;
  /** `redis://[user:password@]127.0.0.1:port`. */
  url: string;
  /** ioredis options with the credentials this server requires. */
  auth: RedisOptions;
  proc: RedisProc;
}

function authOf(opts: ServerOptions): RedisOptions {
  if (opts.user) return { username: opts.user.name, password: opts.user.password };
  return opts.password !== undefined ? { password: opts.password } : {};
}

/** Starts one redis-server on a free port. */
export async function startRedisServer(opts: ServerOptions = {}): Promise<RedisServer> {
  const dir = opts.dir ?? makeTempDir('redis');
  const auth = authOf(opts);
  const extra: string[] = [...(opts.args ?? [])];
  if (opts.password !== undefined) extra.push('--requirepass', opts.password);
  if (opts.user) {
    // One argv entry per ACL rule: redis-server joins the words that follow an option.
    extra.push('--user', opts.user.name, 'on', `>${opts.user.password}`, '~*', '&*', '+@all');
    if (opts.password === undefined) extra.push('--user', 'default', 'off');
  }
  if (opts.replicaof) {
    extra.push('--replicaof', opts.replicaof.host, String(opts.replicaof.port));
    if (auth.password !== undefined) extra.push('--masterauth', auth.password);
    if (auth.username !== undefined) extra.push('--masteruser', auth.username);
  }
  let proc: RedisProc;
  try {
    proc = await spawnOnFreePort((port) => [...baseArgs(port, dir), ...extra], { auth });
  } catch (err) {
    if (opts.dir === undefined) removeTempDir(dir);
    throw err;
  }
  const cred = auth.password === undefined ? '' : `${encodeURIComponent(auth.username ?? '')}:${encodeURIComponent(auth.password)}@`;
  return {
    host: proc.host, port: proc.port, pid: proc.pid, url: `redis://${cred}${proc.host}:${proc.port}`, auth, proc, dir,
    pids: () => [proc.pid],
    stop: async () => {
      await proc.kill();
      if (opts.dir === undefined) removeTempDir(dir);
    },
  };
}

/** What startSentinelSet accepts. */
export interface SentinelOptions {
  replicas?: number;
  sentinels?: number;
  /** Password of the data servers (sentinels get it as `auth-pass`). */
  password?: string;
  /** Also require `password` on the sentinels themselves (ioredis: `sentinelPassword`). */
  protectSentinels?: boolean;
  /** The master name (default `roomcast`). */
  name?: string;
}

/** A primary, its replicas and the sentinels watching them. */
export interface SentinelSet extends Stoppable {
  sentinels: Address[];
  name: string;
  /** ioredis options for the data servers' credentials. */
  auth: RedisOptions;
  /** ioredis options for the sentinels' own credentials (empty unless protectSentinels). */
  sentinelAuth: RedisOptions;
  /** The primary as this handle knows it (the start, or the last waitForNewPrimary). */
  primary(): Address & { pid: number };
  /** SIGKILLs the current primary; resolves with it once it has exited. */
  killPrimary(): Promise<Address & { pid: number }>;
  /**
   * Polls the sentinels until every live one names a primary other than the killed one and that
   * server answers as a master with at least `minReplicas` replicas connected; returns it.
   */
  waitForNewPrimary(opts?: { timeoutMs?: number; minReplicas?: number }): Promise<Address & { pid: number }>;
}

async function infoField(addr: Address, auth: RedisOptions, section: string, field: string): Promise<string | undefined> {
  const info = await withClient(addr, (r) => r.info(section), auth);
  return new RegExp(`^${field}:(.*)\r?$`, 'm').exec(info)?.[1]?.trim();
}

/** Starts a primary, `replicas` replicas and `sentinels` sentinels (quorum: a majority), settled. */
export async function startSentinelSet(opts: SentinelOptions = {}): Promise<SentinelSet> {
  const nReplicas = opts.replicas ?? 2;
  const nSentinels = opts.sentinels ?? 3;
  const name = opts.name ?? 'roomcast';
  const dir = makeTempDir('sentinel');
  const data: RedisProc[] = [];
  const sentinelProcs: RedisProc[] = [];
  const auth: RedisOptions = opts.password !== undefined ? { password: opts.password } : {};
  const sentinelAuth: RedisOptions = opts.protectSentinels && opts.password !== undefined ? { password: opts.password } : {};
  const stop = async (): Promise<void> => {
    await Promise.all([...data, ...sentinelProcs].map((p) => p.kill()));
    removeTempDir(dir);
  };
  try {
    const serverOpts: ServerOptions = { dir, ...(opts.password !== undefined ? { password: opts.password } : {}) };
    const first = await startRedisServer(serverOpts);
    data.push(first.proc);
    for (let i = 0; i < nReplicas; i++) data.push((await startRedisServer({ ...serverOpts, replicaof: first })).proc);
    await poll('replicas in sync', async () => {
      for (const r of data.slice(1)) if ((await infoField(r, auth, 'replication', 'master_link_status')) !== 'up') return false;
      return true;
    }, SETTLE_TIMEOUT_MS);
    for (let i = 0; i < nSentinels; i++) {
      sentinelProcs.push(await spawnOnFreePort((port) => {
        const conf = join(dir, `sentinel-${port}.conf`);
        const lines = [
          `port ${port}`, `bind ${HOST}`, 'protected-mode no', `dir ${dir}`,
          `sentinel monitor ${name} ${HOST} ${first.port} ${Math.floor(nSentinels / 2) + 1}`,
          `sentinel down-after-milliseconds ${name} ${DOWN_AFTER_MS}`,
          `sentinel failover-timeout ${name} ${FAILOVER_TIMEOUT_MS}`,
          `sentinel parallel-syncs ${name} ${nReplicas}`,
        ];
        if (opts.password !== undefined) lines.push(`sentinel auth-pass ${name} ${opts.password}`);
        if (sentinelAuth.password !== undefined) lines.push(`requirepass ${sentinelAuth.password}`, `sentinel sentinel-pass ${sentinelAuth.password}`);
        writeFileSync(conf, `${lines.join('\n')}\n`);
        return [conf, '--sentinel'];
      }, { auth: sentinelAuth }));
    }
    // A failover needs every sentinel to know the others (hello messages, every 2 s) and the replicas.
    await poll('sentinels to know each other and the replicas', async () => {
      for (const s of sentinelProcs) {
        const flat = await withClient(s, (r) => r.call('SENTINEL', 'MASTER', name) as Promise<string[]>, sentinelAuth);
        const m = new Map<string, string>();
        for (let i = 0; i + 1 < flat.length; i += 2) m.set(flat[i] as string, flat[i + 1] as string);
        if (m.get('flags') !== 'master' || Number(m.get('num-other-sentinels')) !== nSentinels - 1 ||
          Number(m.get('num-slaves')) !== nReplicas) return false;
      }
      return true;
    }, SETTLE_TIMEOUT_MS, 200);
  } catch (err) {
    await stop();
    throw err;
  }
  let current: RedisProc = data[0] as RedisProc;
  let killed: RedisProc | undefined;
  const pub = (p: RedisProc): Address & { pid: number } => ({ host: p.host, port: p.port, pid: p.pid });
  return {
    sentinels: sentinelProcs.map((s) => ({ host: s.host, port: s.port })),
    name, auth, sentinelAuth, dir,
    pids: () => [...data, ...sentinelProcs].map((p) => p.pid),
    primary: () => pub(current),
    killPrimary: async () => {
      killed = current;
      await current.kill();
      return pub(current);
    },
    waitForNewPrimary: async ({ timeoutMs = FAILOVER_WAIT_MS, minReplicas = 0 } = {}) => {
      const old = killed?.port ?? current.port;
      const found = await poll('a new primary', async () => {
        const named = new Set<string>();
        for (const s of sentinelProcs) {
          if (s.exited()) continue;
          const a = await withClient(s, (r) => r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name) as Promise<[string, string] | null>, sentinelAuth);
          if (!a) return false;
          named.add(`${a[0]}:${a[1]}`);
        }
        if (named.size !== 1) return false;
        const port = Number([...named][0]?.split(':')[1]);
        const proc = data.find((d) => d.port === port && !d.exited());
        if (!proc || port === old) return false;
        if ((await infoField(proc, auth, 'replication', 'role')) !== 'master') return false;
        if (Number(await infoField(proc, auth, 'replication', 'connected_slaves')) < minReplicas) return false;
        return proc;
      }, timeoutMs, 200);
      current = found;
      return pub(found);
    },
    stop,
  };
}
