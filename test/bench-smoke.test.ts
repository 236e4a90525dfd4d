// Smoke of the benchmark (bench/): a few hundred streams against the naive baseline and the hub, so
// the bench never rots. Asserts that every stream connected and received every event once and in
// order; no timing assertions (CI machines are noisy). Assumes `npm run build` has run.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'roomcast-bench-smoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Completeness { ok: boolean; connections: number; complete: number; missing: number; duplicates: number; orderErrors: number }
interface RunResult {
  error?: string;
  ok?: boolean;
  streams?: number;
  failed?: number;
  subs?: number;
  failedConnects?: number;
  accepted?: number;
  deliveries?: number;
  completeness?: Completeness;
  steps?: { streams: number; open: number; reasons: string[] }[];
}
interface StormRun {
  error?: string;
  streams: number;
  retryMs: number;
  caughtUp: number;
  attempts: number;
  stayDrops: number;
  shutdownRetryMs: { n: number; min: number | null; max: number | null };
  completeness: Completeness;
  stayCompleteness: Completeness;
}
interface CapacityClusterRun {
  error?: string;
  workers: number;
  requested: number;
  open: number;
  failedConnects: number;
  perWorker: { nodeId: string; connections: number }[];
  maxFdsPerProcess: number;
  completeness: Completeness;
}
type Scenarios = Record<string, { baseline?: RunResult; hub?: RunResult & Partial<Record<'SIGTERM' | 'SIGKILL', StormRun>> }>;

/** Runs bench/run.mjs with a timeout; resolves its exit code and parsed JSON. */
function runBench(args: string[], out: string, timeoutMs: number): Promise<{ code: number | null; output: string; json: { scenarios: Scenarios } | null }> {
  return new Promise((resolve) => {
    const cp = spawn(process.execPath, [path.join(ROOT, 'bench', 'run.mjs'), '--smoke', '--no-pin', `--out=${out}`, ...args], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    cp.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    cp.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    const timer = setTimeout(() => cp.kill('SIGINT'), timeoutMs);
    cp.on('exit', (code) => {
      clearTimeout(timer);
      const json = existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as { scenarios: Scenarios }) : null;
      resolve({ code, output, json });
    });
  });
}

function redisReachable(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: 6379 });
    const done = (v: boolean) => { s.destroy(); resolve(v); };
    s.setTimeout(1000, () => done(false));
    s.on('error', () => done(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

function redisServerInstalled(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

function expectComplete(r: { error?: string; completeness?: Completeness } | undefined, label: string): void {
  expect(r, label).toBeDefined();
  expect(r?.error, `${label}: ${(r?.error ?? '').slice(0, 600)}`).toBeUndefined();
  const c = r?.completeness;
  expect(c, label).toBeDefined();
  expect({ label, missing: c?.missing, duplicates: c?.duplicates, orderErrors: c?.orderErrors, complete: c?.complete })
    .toEqual({ label, missing: 0, duplicates: 0, orderErrors: 0, complete: c?.connections });
  expect(c?.connections, label).toBeGreaterThan(0);
}

describe('bench smoke', () => {
  it('parses SSE and chunked HTTP per the standards (bench/selftest.mjs)', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bench', 'selftest.mjs')], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('runs idle, fanout, burst and capacity against the baseline and the hub', async () => {
    expect(existsSync(path.join(ROOT, 'dist', 'main.js')), 'dist/main.js (npm run build)').toBe(true);
    const out = path.join(dir, 'single.json');
    const { code, output, json } = await runBench(['idle', 'fanout', 'burst', 'capacity'], out, 55_000);
    expect(code, output).toBe(0);
    expect(json, output).not.toBeNull();
    const S = json!.scenarios;
    for (const kind of ['baseline', 'hub'] as const) {
      const idle = S.idle?.[kind];
      expect(idle?.error, `idle/${kind}: ${idle?.error ?? ''}`).toBeUndefined();
      expect(idle?.failed, `idle/${kind}`).toBe(0);
      expect(idle?.streams, `idle/${kind}`).toBe(300);

      const fanout = S.fanout?.[kind];
      expect(fanout?.failedConnects, `fanout/${kind}`).toBe(0);
      expect(fanout?.accepted, `fanout/${kind}`).toBeGreaterThan(0);
      expectComplete(fanout, `fanout/${kind}`);

      const burst = S.burst?.[kind];
      expect(burst?.failedConnects, `burst/${kind}`).toBe(0);
      expect(burst?.accepted, `burst/${kind}`).toBeGreaterThan(0);
      expectComplete(burst, `burst/${kind}`);

      const cap = S.capacity?.[kind];
      expect(cap?.error, `capacity/${kind}: ${cap?.error ?? ''}`).toBeUndefined();
      const first = cap?.steps?.[0];
      expect(first?.open, `capacity/${kind}`).toBe(first?.streams);
      expect(first?.reasons.filter((x) => /connects failed|closed|not open|completeness/.test(x)), `capacity/${kind}`).toEqual([]);
    }
  }, 60_000);

  it('runs the cluster scenario (WORKERS=2 on Redis) when Redis is reachable', async (ctx) => {
    if (!(await redisReachable())) ctx.skip();
    const out = path.join(dir, 'cluster.json');
    const { code, output, json } = await runBench(['cluster', '--targets=hub', '--no-reference'], out, 55_000);
    expect(code, output).toBe(0);
    const c = json?.scenarios.cluster?.hub;
    expect(c?.failedConnects, `cluster: ${(c?.error ?? '').slice(0, 600)}`).toBe(0);
    expectComplete(c, 'cluster/hub');
  }, 60_000);

  it('runs the storm scenario: every client of a stopped hub back on the other, nothing lost', async (ctx) => {
    if (!redisServerInstalled() && !(await redisReachable())) ctx.skip();
    const out = path.join(dir, 'storm.json');
    const { code, output, json } = await runBench(['storm', '--targets=hub'], out, 110_000);
    expect(code, output).toBe(0);
    const hub = json?.scenarios.storm?.hub;
    expect(hub?.error, output).toBeUndefined();
    for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
      const r = hub?.[sig];
      expect(r?.error, `storm ${sig}: ${(r?.error ?? '').slice(0, 600)}`).toBeUndefined();
      expect(r?.caughtUp, `storm ${sig}: clients back and caught up`).toBe(r?.streams);
      expect(r?.attempts, `storm ${sig}: reconnect attempts`).toBeGreaterThanOrEqual(r?.streams ?? Infinity);
      expect(r?.stayDrops, `storm ${sig}: streams that stayed on B`).toBe(0);
      expectComplete(r, `storm ${sig} (movers)`);
      expectComplete({ completeness: r?.stayCompleteness }, `storm ${sig} (stayers)`);
    }
    // SIGTERM: every stream was told its own reconnection time, within RETRY_MS … 2 × RETRY_MS.
    const term = hub?.SIGTERM;
    expect(term?.shutdownRetryMs.n).toBe(term?.streams);
    expect(term?.shutdownRetryMs.min).toBeGreaterThanOrEqual(term?.retryMs ?? Infinity);
    expect(term?.shutdownRetryMs.max).toBeLessThanOrEqual(2 * (term?.retryMs ?? 0));
  }, 120_000);

  it('runs the capacity-cluster scenario: streams spread over the workers, one event reaches all', async (ctx) => {
    if (!redisServerInstalled() && !(await redisReachable())) ctx.skip();
    const out = path.join(dir, 'capacity-cluster.json');
    const { code, output, json } = await runBench(['capacity-cluster', '--targets=hub'], out, 55_000);
    expect(code, output).toBe(0);
    const r = json?.scenarios['capacity-cluster']?.hub as CapacityClusterRun | undefined;
    expect(r?.error, `capacity-cluster: ${(r?.error ?? '').slice(0, 600)}`).toBeUndefined();
    expect(r?.failedConnects).toBe(0);
    expect(r?.open).toBe(r?.requested);
    expect(r?.perWorker.length).toBe(r?.workers);
    expect(r?.perWorker.every((w) => w.connections > 0), JSON.stringify(r?.perWorker)).toBe(true);
    expect(r?.perWorker.reduce((s, w) => s + w.connections, 0)).toBe(r?.requested);
    expectComplete(r, 'capacity-cluster');
  }, 60_000);
});
