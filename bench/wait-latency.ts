// What `REDIS_WAIT_REPLICAS` costs a publish (docs/cluster.md): sequential publishes through the hub's
// real script on a Sentinel set (primary + 2 replicas + 3 sentinels, started here from redis-server),
// through an ioredis Sentinel client, without WAIT, with WAIT after the script (two round trips) and
// with the script and WAIT pipelined (one round trip). Bounded: a few thousand publishes per mode.
//
//   npm run build && npx tsx bench/wait-latency.ts [--n=2000] [--timeout=1000]
import { Redis } from 'ioredis';
import { startSentinelSet } from '../test/support/redis-topology.js';

const flags = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const N = Number(flags.get('n') ?? 2000);
const WAIT_TIMEOUT_MS = Number(flags.get('timeout') ?? 1000);
const WARMUP = 200;
const PREFIX = 'wait-bench:';

interface ScriptHelpers {
  loadPublishLua(): Promise<{ lua: string; from: string }>;
  publishArgs(prefix: string): (string | number)[];
}

/** p-th percentile (0..100) of sorted values. */
function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Latency summary of one mode, in µs. */
function summary(label: string, us: number[]): Record<string, number | string> {
  us.sort((a, b) => a - b);
  const mean = us.reduce((s, v) => s + v, 0) / us.length;
  return { mode: label, n: us.length, p50_us: Math.round(pct(us, 50)), p90_us: Math.round(pct(us, 90)), p99_us: Math.round(pct(us, 99)), max_us: Math.round(us[us.length - 1] ?? NaN), mean_us: Math.round(mean) };
}

/** Runs the modes round-robin (so load from elsewhere on the machine hits each alike), N times each. */
async function measure(modes: [string, () => Promise<void>][]): Promise<Record<string, number | string>[]> {
  for (let i = 0; i < WARMUP; i++) for (const [, once] of modes) await once();
  const samples = modes.map(() => [] as number[]);
  for (let i = 0; i < N; i++) {
    for (const [m, [, once]] of modes.entries()) {
      const t = process.hrtime.bigint();
      await once();
      samples[m]?.push(Number(process.hrtime.bigint() - t) / 1000);
    }
  }
  return modes.map(([label], m) => summary(label, samples[m] ?? []));
}

const helpers = (await import(new URL('./lib/publish-script.mjs', import.meta.url).href)) as ScriptHelpers;
const { lua, from } = await helpers.loadPublishLua();
const set = await startSentinelSet({ replicas: 2, sentinels: 3 });
const client = new Redis({ sentinels: set.sentinels, name: set.name, maxRetriesPerRequest: 1 });
try {
  const sha = (await client.script('LOAD', lua)) as string;
  const argv = helpers.publishArgs(PREFIX);
  const publish = async (): Promise<void> => {
    await client.evalsha(sha, 2, ...argv);
  };
  const rows = await measure([
    ['script only', publish],
    [`script, then WAIT 1 ${WAIT_TIMEOUT_MS}`, async () => {
      await publish();
      if ((await client.wait(1, WAIT_TIMEOUT_MS)) < 1) throw new Error('WAIT 1 timed out');
    }],
    [`script + WAIT 1 ${WAIT_TIMEOUT_MS} pipelined`, async () => {
      const res = await client.pipeline().evalsha(sha, 2, ...argv).wait(1, WAIT_TIMEOUT_MS).exec();
      if (Number(res?.[1]?.[1]) < 1) throw new Error('WAIT 1 timed out');
    }],
    [`script, then WAIT 2 ${WAIT_TIMEOUT_MS}`, async () => {
      await publish();
      if ((await client.wait(2, WAIT_TIMEOUT_MS)) < 2) throw new Error('WAIT 2 timed out');
    }],
  ]);
  console.log(`script from ${from}; Sentinel set: primary ${set.primary().port}, 2 replicas, 3 sentinels; ${N} sequential publishes per mode`);
  console.table(rows);
} finally {
  client.disconnect();
  await set.stop();
}
