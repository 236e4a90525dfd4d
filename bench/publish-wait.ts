// What REDIS_WAIT_REPLICAS costs a publish through the hub (docs/cluster.md): sequential
// `POST /broadcast` on hub processes on one Sentinel set (primary + 2 replicas + 3 sentinels,
// started here from redis-server), one process per setting — REDIS_WAIT_REPLICAS 0, 1 and 2 —
// measured round-robin so load from elsewhere on the machine hits each alike. One stream listens
// on each process. Bounded: a few thousand publishes per setting.
//
//   npm run build && npx tsx bench/publish-wait.ts [--n=2000]
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import jwt from 'jsonwebtoken';
import { startSentinelSet } from '../test/support/redis-topology.js';
import { freePort } from '../test/support/net.js';
import { waitFor } from '../test/support/wait.js';

const flags = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const N = Number(flags.get('n') ?? 2000);
const WARMUP = 200;
const SECRET = 'publish-wait-bench-secret-0123456789-abcdefgh';
const SETTINGS = [0, 1, 2];

/** p-th percentile (0..100) of sorted values. */
function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const set = await startSentinelSet({ replicas: 2, sentinels: 3 });
const children: ChildProcess[] = [];
try {
  const hubs: { wait: number; url: string }[] = [];
  for (const wait of SETTINGS) {
    const port = await freePort();
    const child = spawn(process.execPath, ['dist/main.js'], {
      stdio: 'ignore',
      env: {
        PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', NODE_ID: `wait-${wait}`, JWT_SECRET: SECRET,
        REDIS_SENTINELS: set.sentinels.map((s) => `${s.host}:${s.port}`).join(','), REDIS_SENTINEL_NAME: set.name,
        REDIS_PREFIX: `bench-wait-${wait}:`, REDIS_WAIT_REPLICAS: String(wait), LOG_LEVEL: 'warn', SIMULATORS: 'none',
      },
    });
    children.push(child);
    const url = `http://127.0.0.1:${port}`;
    await waitFor(`hub with REDIS_WAIT_REPLICAS=${wait}`, async () => (await fetch(`${url}/ready`)).status === 200, 15_000, 100);
    // A listener, so the publish also fans out as it would in use.
    const listen = request(`${url}/events?rooms=bench&access_token=${jwt.sign({ sub: 'listener', role: 'user' }, SECRET, { expiresIn: 3600 })}`);
    listen.on('response', (res) => res.resume()).on('error', () => {}).end();
    hubs.push({ wait, url });
  }
  const auth = `Bearer ${jwt.sign({ sub: 'bench', role: 'publisher' }, SECRET, { expiresIn: 3600 })}`;
  const body = JSON.stringify({ type: 'bench', data: { text: 'x'.repeat(200) } });
  const publish = async (url: string): Promise<void> => {
    const res = await fetch(`${url}/broadcast/room/bench`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body });
    await res.arrayBuffer();
    if (res.status !== 202) throw new Error(`publish answered ${res.status}`);
  };
  for (let i = 0; i < WARMUP; i++) for (const h of hubs) await publish(h.url);
  const samples = hubs.map(() => [] as number[]);
  for (let i = 0; i < N; i++) {
    for (const [k, h] of hubs.entries()) {
      const t = process.hrtime.bigint();
      await publish(h.url);
      samples[k]?.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  }
  const rows = hubs.map((h, k) => {
    const ms = (samples[k] ?? []).sort((a, b) => a - b);
    const f = (v: number): number => Math.round(v * 1000) / 1000;
    return { REDIS_WAIT_REPLICAS: h.wait, n: ms.length, p50_ms: f(pct(ms, 50)), p90_ms: f(pct(ms, 90)), p99_ms: f(pct(ms, 99)), max_ms: f(ms.at(-1) ?? NaN) };
  });
  console.log(`Sentinel set: primary ${set.primary().port}, 2 replicas, 3 sentinels; ${N} sequential POST /broadcast per setting (round-robin), 1 stream per process`);
  console.table(rows);
} finally {
  for (const c of children) c.kill('SIGKILL');
  await set.stop();
}
