// A real Redis Cluster for tests: `redis-server --cluster-enabled yes` nodes on free loopback ports
// joined by `redis-cli --cluster create`. The nodes announce 127.0.0.1, so clients on this machine
// (only) can follow the redirections.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { RedisOptions } from 'ioredis';
import {
  baseArgs, makeTempDir, poll, removeTempDir, spawnOnFreePort, withClient, type Address, type RedisProc,
} from './redis-process.js';

/** A node not heard from for this long is failed and its replica takes over (about 2-3 s in all). */
const NODE_TIMEOUT_MS = 1_000;
/** Bound on `redis-cli --cluster create` and on every node reporting the cluster healthy. */
const SETTLE_TIMEOUT_MS = 20_000;
/** Default bound on waitForFailover. */
const FAILOVER_WAIT_MS = 20_000;
/** Slots in a Redis Cluster. */
const SLOTS = 16_384;

/** What startCluster accepts. */
export interface ClusterOptions {
  primaries?: number;
  replicasPerPrimary?: number;
  /** `requirepass` and `masterauth` on every node. */
  password?: string;
}

/** A running Redis Cluster. */
export interface RedisClusterTopology {
  /** Every node's address (seed list for `new Cluster(nodes)`). */
  nodes: Address[];
  /** ioredis options with the credentials the nodes require (for `redisOptions`). */
  auth: RedisOptions;
  dir: string;
  pids(): number[];
  /** The slot of a key (hash tags honoured), as the cluster computes it. */
  keySlot(key: string): Promise<number>;
  /** The primary serving a slot now. */
  primaryForSlot(slot: number): Promise<Address & { pid: number }>;
  /** SIGKILLs the primary serving `key`'s slot; resolves once it has exited. */
  killPrimaryOf(key: string): Promise<{ slot: number; killed: Address & { pid: number } }>;
  /** Waits until the last killed primary's slot has a new live primary and every live node reports `cluster_state:ok`. */
  waitForFailover(opts?: { timeoutMs?: number }): Promise<Address & { pid: number }>;
  stop(): Promise<void>;
}

function runCli(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`redis-cli ${args.join(' ')} failed (${code}):\n${out}`));
    });
  });
}

/** CLUSTER SLOTS rows: [start, end, [host, port, id], …replicas]. */
type SlotRow = [number, number, [string, number, string], ...unknown[]];

/** Starts `primaries` × (1 + `replicasPerPrimary`) nodes, creates the cluster and waits until it is healthy. */
export async function startCluster(opts: ClusterOptions = {}): Promise<RedisClusterTopology> {
  const primaries = opts.primaries ?? 3;
  const perPrimary = opts.replicasPerPrimary ?? 1;
  const total = primaries * (1 + perPrimary);
  const dir = makeTempDir('cluster');
  const auth: RedisOptions = opts.password !== undefined ? { password: opts.password } : {};
  const procs: RedisProc[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map((p) => p.kill()));
    removeTempDir(dir);
  };
  const liveProcs = (): RedisProc[] => procs.filter((p) => !p.exited());
  const clusterInfo = async (p: Address): Promise<Map<string, string>> => {
    const text = await withClient(p, (r) => r.call('CLUSTER', 'INFO') as Promise<string>, auth);
    return new Map(text.split(/\r?\n/).filter((l) => l.includes(':')).map((l) => l.split(':', 2) as [string, string]));
  };
  const healthy = async (count: number): Promise<boolean> => {
    for (const p of liveProcs()) {
      const info = await clusterInfo(p);
      if (info.get('cluster_state') !== 'ok' || Number(info.get('cluster_slots_ok')) !== SLOTS ||
        Number(info.get('cluster_known_nodes')) !== count) return false;
    }
    return true;
  };
  try {
    for (let i = 0; i < total; i++) {
      procs.push(await spawnOnFreePort((port) => {
        const args = [...baseArgs(port, dir), '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout', String(NODE_TIMEOUT_MS),
          // A replica takes over however long ago it last heard from its primary.
          '--cluster-replica-validity-factor', '0'];
        if (opts.password !== undefined) args.push('--requirepass', opts.password, '--masterauth', opts.password);
        return args;
      }, { withBus: true, auth }));
    }
    const cliAuth = opts.password !== undefined ? ['-a', opts.password, '--no-auth-warning'] : [];
    await runCli([...cliAuth, '--cluster', 'create', ...procs.map((p) => `${p.host}:${p.port}`),
      '--cluster-replicas', String(perPrimary), '--cluster-yes'], SETTLE_TIMEOUT_MS);
    await poll('cluster_state:ok on every node', () => healthy(total), SETTLE_TIMEOUT_MS, 200);
    await poll('replicas in sync', async () => {
      for (const p of procs) {
        const info = await withClient(p, (r) => r.info('replication'), auth);
        if (/^role:slave/m.test(info) && !/^master_link_status:up/m.test(info)) return false;
      }
      return true;
    }, SETTLE_TIMEOUT_MS, 200);
  } catch (err) {
    await stop();
    throw err;
  }

  const slotOwner = async (slot: number): Promise<RedisProc | undefined> => {
    for (const p of liveProcs()) {
      try {
        const rows = await withClient(p, (r) => r.call('CLUSTER', 'SLOTS') as Promise<SlotRow[]>, auth);
        const row = rows.find(([a, b]) => slot >= a && slot <= b);
        return procs.find((q) => q.port === Number(row?.[2][1]));
      } catch {
        // that node is not answering: ask the next
      }
    }
    return undefined;
  };
  const pub = (p: RedisProc): Address & { pid: number } => ({ host: p.host, port: p.port, pid: p.pid });
  let lastKill: { slot: number; port: number } | undefined;
  const keySlot = async (key: string): Promise<number> => {
    const node = liveProcs()[0];
    if (!node) throw new Error('no live cluster node');
    return withClient(node, (r) => r.call('CLUSTER', 'KEYSLOT', key) as Promise<number>, auth);
  };
  return {
    nodes: procs.map((p) => ({ host: p.host, port: p.port })),
    auth, dir, stop, keySlot,
    pids: () => procs.map((p) => p.pid),
    primaryForSlot: async (slot) => {
      const owner = await slotOwner(slot);
      if (!owner) throw new Error(`no primary known for slot ${slot}`);
      return pub(owner);
    },
    killPrimaryOf: async (key) => {
      const slot = await keySlot(key);
      const owner = await slotOwner(slot);
      if (!owner) throw new Error(`no primary known for slot ${slot}`);
      lastKill = { slot, port: owner.port };
      await owner.kill();
      return { slot, killed: pub(owner) };
    },
    waitForFailover: async ({ timeoutMs = FAILOVER_WAIT_MS } = {}) => {
      const kill = lastKill;
      if (!kill) throw new Error('waitForFailover: no primary was killed');
      return poll(`a new primary for slot ${kill.slot}`, async () => {
        const owner = await slotOwner(kill.slot);
        if (!owner || owner.port === kill.port || owner.exited()) return false;
        const role = await withClient(owner, (r) => r.call('ROLE') as Promise<unknown[]>, auth);
        if (role[0] !== 'master') return false;
        for (const p of liveProcs()) if ((await clusterInfo(p)).get('cluster_state') !== 'ok') return false;
        return pub(owner);
      }, timeoutMs, 200);
    },
  };
}
