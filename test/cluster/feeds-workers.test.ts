// The built-in feeds run on exactly one process (a lease in Redis) and move when it dies;
// WORKERS=N forks N nodes sharing one port; the dev cluster command starts N processes.
import { get } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, nodesInStats } from '../support/http.js';
import { freeConsecutivePorts, freePort } from '../support/net.js';
import { MAIN, ROOT, assertBuilt, cleanEnv, startChild, stopAll } from '../support/processes.js';
import { REDIS_URL, deletePrefix, newPrefix } from '../support/redis-keys.js';
import { mustStream, type RawStream } from '../support/sse-client.js';
import { TEST_SECRET, mint } from '../support/tokens.js';
import { waitFor, within } from '../support/wait.js';
import { type HubNode, inspect, startNode } from './cluster-harness.js';

const prefixes: string[] = [];
const streams: RawStream[] = [];
const admin = mint('ops', 'admin');
/** How long a stopped process may take to exit (its graceful shutdown is bounded by SHUTDOWN_TIMEOUT_MS). */
const EXIT_MS = 10_000;

function prefix(tag: string): string {
  const p = newPrefix(tag);
  prefixes.push(p);
  return p;
}

beforeAll(() => assertBuilt());
afterAll(async () => {
  for (const s of streams) s.close();
  await stopAll();
  for (const p of prefixes) await deletePrefix(p);
}, 30_000);

/** GET on a fresh TCP connection (so the cluster module may hand it to any worker). */
function freshGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
  });
}

describe('built-in feeds on a cluster', () => {
  it('runs them on exactly one process and hands them over when it dies', async () => {
    const p = prefix('feeds');
    const nodes = await Promise.all(['a', 'b', 'c'].map((id) => startNode({ prefix: p, nodeId: `feed-${id}`, env: { SIMULATORS: 'time' } })));
    const redis = await inspect();
    try {
      const holderOf = async (): Promise<HubNode | undefined> => {
        const v = await redis.get(`${p}lease:feeds`);
        return nodes.find((n) => v?.startsWith(`${n.nodeId}#`));
      };
      const holder = await waitFor('a lease holder', holderOf, 5000);
      const watcherNode = nodes.find((n) => n !== holder)!;
      const s = await mustStream(watcherNode.url, '/events', { authorization: `Bearer ${mint('f-user')}` });
      streams.push(s);
      const times = (): number[] => s.dataOf<{ data: { iso: string } }>('time').map((e) => Date.parse(e.data.iso));
      // One feed ticks once a second: four ticks span about three seconds. Two feeds (one per
      // process) would put four ticks within about one and a half.
      const tickSpan = (from: number): number => {
        const ticks = times().slice(from, from + 4);
        return ticks[3]! - ticks[0]!;
      };
      await waitFor('four time ticks', () => times().length >= 4, 8000);
      expect(tickSpan(0)).toBeGreaterThanOrEqual(2500);
      await holder.kill('SIGKILL');
      const seen = times().length;
      // The lease expires and another process takes the feeds over; how fast is a figure for the bench.
      await waitFor('time events again', () => times().length > seen, 15_000, 50);
      const next = await holderOf();
      expect(next).toBeDefined();
      expect(next).not.toBe(holder);
      const after = times().length;
      await waitFor('four ticks from the new holder', () => times().length >= after + 4, 8000);
      expect(tickSpan(after)).toBeGreaterThanOrEqual(2500);
    } finally {
      redis.disconnect();
    }
  }, 40_000);
});

describe('WORKERS and the dev cluster command', () => {
  it('WORKERS=2 runs two nodes of the hub sharing one port', async () => {
    const p = prefix('workers');
    const port = await freePort();
    const proc = startChild(process.execPath, [MAIN], {
      env: cleanEnv({
        PORT: String(port), HOST: '127.0.0.1', NODE_ID: 'wk', WORKERS: '2', REDIS_URL, REDIS_PREFIX: p,
        JWT_SECRET: TEST_SECRET, HEARTBEAT_MS: '500', LOG_LEVEL: 'warn', SIMULATORS: 'none', SHUTDOWN_TIMEOUT_MS: '3000',
      }),
    });
    const url = `http://127.0.0.1:${port}`;
    expect(await nodesInStats(url, admin, 2, 15_000)).toEqual(['wk-w1', 'wk-w2']);
    const seen = new Set<string>();
    for (let i = 0; i < 20 && seen.size < 2; i++) seen.add((JSON.parse(await freshGet(`${url}/health`)) as { nodeId: string }).nodeId);
    expect([...seen].sort()).toEqual(['wk-w1', 'wk-w2']);
    proc.proc.kill('SIGTERM');
    expect(await within('the primary to exit', proc.exited, EXIT_MS)).toEqual({ code: 0, signal: null });
    // a graceful stop leaves Redis clean of the nodes' state
    const redis = await inspect();
    try {
      expect(await redis.zrange(`${p}nodes`, 0, -1)).toEqual([]);
      expect(await redis.keys(`${p}n:*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  }, 30_000);

  it('refuses WORKERS > 1 without REDIS_URL', async () => {
    const proc = startChild(process.execPath, [MAIN], { env: cleanEnv({ WORKERS: '2', JWT_SECRET: TEST_SECRET, PORT: '0' }) });
    expect((await within('the refusal', proc.exited, EXIT_MS)).code).toBe(78);
    expect(proc.output()).toContain('WORKERS');
  });

  it('`node scripts/cluster.mjs 2` starts two processes on consecutive ports and stops them', async () => {
    const p = prefix('devcluster');
    const port = await freeConsecutivePorts(2);
    const proc = startChild(process.execPath, [`${ROOT}scripts/cluster.mjs`, '2'], {
      env: cleanEnv({ PORT: String(port), REDIS_URL, REDIS_PREFIX: p, LOG_LEVEL: 'warn', HEARTBEAT_MS: '500', SIMULATORS: 'none' }),
    });
    try {
      for (const q of [port, port + 1]) {
        await waitFor(`dev node on ${q}`, async () => (await api(`http://127.0.0.1:${q}`, 'GET', '/ready')).status === 200, 15_000, 100);
      }
      // one hub: the generated secret is shared, and both processes are in /stats
      const secret = /JWT_SECRET='([^']+)'/.exec(proc.output())?.[1];
      expect(secret).toBeDefined();
      const tok = mint('ops', 'admin', {}, 60, secret!);
      await waitFor('two nodes', async () => (await api(`http://127.0.0.1:${port + 1}`, 'GET', '/stats', { token: tok })).body.nodes?.length === 2, 5000, 100);
    } finally {
      proc.proc.kill('SIGTERM');
      expect(await within('the dev cluster to exit', proc.exited, EXIT_MS)).toEqual({ code: 0, signal: null });
    }
  }, 30_000);
});
