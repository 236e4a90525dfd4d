// PUBLISH vs SPUBLISH on a Redis Cluster (docs/scaling.md): one hash-tagged bus channel, one
// subscriber, the same messages published both ways on a 3 primaries + 3 replicas cluster started
// here from redis-server. Reports, per node, CPU seconds, bytes written (/proc/<pid>/io wchar:
// replies, cluster bus, replication) and the cluster bus's publish counters.
//
//   npx tsx bench/cluster-pubsub.ts [--n=20000] [--bytes=552]
import { readFileSync } from 'node:fs';
import { Cluster, Redis } from 'ioredis';
import { startCluster, type RedisClusterTopology } from '../test/support/redis-topology.js';

const flags = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const N = Number(flags.get('n') ?? 20_000);
/** Default: the size of today's bus message for a 200-byte event (bench/scaling-ceiling.mjs). */
const BYTES = Number(flags.get('bytes') ?? 552);
const BATCH = 100;
const CHANNEL = '{roomcast:}bus';
const CLK_TCK = 100;

interface NodeSample { cpu: number; wchar: number; bus: Map<string, number> }

function procSample(pid: number): { cpu: number; wchar: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const io = readFileSync(`/proc/${pid}/io`, 'latin1');
  return { cpu: (Number(f[11]) + Number(f[12])) / CLK_TCK, wchar: Number(/^wchar: (\d+)/m.exec(io)?.[1] ?? NaN) };
}

async function sample(topo: RedisClusterTopology): Promise<NodeSample[]> {
  const pids = topo.pids();
  return Promise.all(topo.nodes.map(async (n, i) => {
    const r = new Redis({ host: n.host, port: n.port });
    try {
      const info = (await r.call('CLUSTER', 'INFO')) as string;
      const bus = new Map<string, number>();
      for (const m of info.matchAll(/^cluster_stats_messages_(publish\w*)_(sent|received):(\d+)/gm)) bus.set(`${m[1]}_${m[2]}`, Number(m[3]));
      return { ...procSample(pids[i] as number), bus };
    } finally {
      r.disconnect();
    }
  }));
}

async function run(topo: RedisClusterTopology, mode: 'publish' | 'spublish'): Promise<Record<string, unknown>[]> {
  const owner = await topo.primaryForSlot(await topo.keySlot(CHANNEL));
  const sub = new Cluster(topo.nodes, { shardedSubscribers: mode === 'spublish' });
  let got = 0;
  sub.on(mode === 'spublish' ? 'smessageBuffer' : 'messageBuffer', () => got++);
  await (mode === 'spublish' ? sub.ssubscribe(CHANNEL) : sub.subscribe(CHANNEL));
  // Publish on the slot's primary itself, as the hub's script (which runs there) would.
  const pub = new Redis({ host: owner.host, port: owner.port });
  const payload = 'x'.repeat(BYTES);
  const before = await sample(topo);
  const t0 = performance.now();
  for (let sent = 0; sent < N; sent += BATCH) {
    const p = pub.pipeline();
    for (let i = 0; i < BATCH; i++) {
      if (mode === 'spublish') p.spublish(CHANNEL, payload);
      else p.publish(CHANNEL, payload);
    }
    await p.exec();
  }
  const deadline = Date.now() + 20_000;
  while (got < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const secs = (performance.now() - t0) / 1000;
  const after = await sample(topo);
  pub.disconnect();
  sub.disconnect();
  const role = async (port: number): Promise<string> => {
    const r = new Redis({ host: '127.0.0.1', port });
    try {
      return String(((await r.call('ROLE')) as unknown[])[0]);
    } finally {
      r.disconnect();
    }
  };
  console.log(`${mode}: ${N} messages of ${BYTES} B, ${got} delivered, ${(N / secs).toFixed(0)} msg/s (owner ${owner.port})`);
  return Promise.all(topo.nodes.map(async (n, i) => {
    const a = before[i] as NodeSample;
    const b = after[i] as NodeSample;
    const busDelta = (k: string): number => (b.bus.get(k) ?? 0) - (a.bus.get(k) ?? 0);
    return {
      mode, node: n.port, role: `${await role(n.port)}${n.port === owner.port ? ' (slot owner)' : ''}`,
      cpu_us_per_msg: Number(((1e6 * (b.cpu - a.cpu)) / N).toFixed(2)),
      written_bytes_per_msg: Math.round((b.wchar - a.wchar) / N),
      bus_publish_sent: busDelta('publish_sent'), bus_publish_received: busDelta('publish_received'),
      bus_publishshard_sent: busDelta('publishshard_sent'), bus_publishshard_received: busDelta('publishshard_received'),
    };
  }));
}

const topo = await startCluster({ primaries: 3, replicasPerPrimary: 1 });
try {
  const rows = [...await run(topo, 'publish'), ...await run(topo, 'spublish')];
  console.table(rows);
} finally {
  await topo.stop();
}
