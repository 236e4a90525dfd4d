// The bench's process harness: servers and load processes started, tracked and killed, streams
// opened and measured across client processes. Shared by bench/run.mjs and bench/scenarios/*.
import { fork, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { call } from './rpc.mjs';
import { Hist } from './hist.mjs';
import { processTree } from './proc.mjs';
import { mintToken } from './tokens.mjs';

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = path.resolve(BENCH_DIR, '..');
export const HUB_ENTRY = path.join(ROOT, 'dist', 'main.js');
const BASELINE_ENTRY = path.join(BENCH_DIR, 'baseline-server.mjs');
const FLOOR_ENTRY = path.join(BENCH_DIR, 'floor-server.mjs');
export const PER_CHILD = 4000;          // streams per client process (each process may hold 20,000 files)
export const ROOM = 'bench';
export const EVENT_TYPE = 'bench';

// ---------------------------------------------------------------------------------------------
// Processes: every child is tracked and killed at the end, on error and on SIGINT/SIGTERM.

const children = new Set();
/** Run-wide settings, set once by run.mjs from its flags. */
export const settings = {
  pin: true,
  warmupMs: 1000,
  users: 1,           // --users=N: distinct subscriber user ids
  profileDir: null,   // --profile: servers run with --cpu-prof, profiles land here
};
export const SERVER_CORE = '0';
export const CLIENT_CORE = '1';

export function track(cp) {
  children.add(cp);
  cp.on('exit', () => children.delete(cp));
  return cp;
}

const serverPids = new Set();
export function killAll() {
  // Servers first with their descendants (cluster workers), then every other child.
  for (const pid of serverPids) for (const p of processTree(pid).reverse()) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  serverPids.clear();
  for (const cp of children) { try { cp.kill('SIGKILL'); } catch { /* gone */ } }
}

export function pinAvailable() {
  if (os.cpus().length < 2) return false;
  return spawnSync('taskset', ['-c', '1', 'true']).status === 0;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

export function httpGet(port, p, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, headers, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Starts the baseline or the hub on core 0 and waits for /health (extraEnv.JWT_SECRET: shared by several hubs). */
export async function startServer(kind, extraEnv = {}) {
  const port = await freePort();
  const secret = extraEnv.JWT_SECRET ?? randomBytes(32).toString('hex');
  const env = {
    PATH: process.env.PATH, HOME: process.env.HOME, LANG: process.env.LANG ?? 'C.UTF-8',
    NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1', JWT_SECRET: secret,
    HEARTBEAT_MS: '15000', MAX_CONNECTIONS_PER_USER: '1000000', LOG_LEVEL: 'warn', HISTORY_SIZE: '1000',
    SIMULATORS: 'none', DEMO: 'false', SHUTDOWN_TIMEOUT_MS: '3000',
    ...extraEnv,
  };
  const entry = kind === 'hub' ? HUB_ENTRY : kind === 'floor' ? FLOOR_ENTRY : BASELINE_ENTRY;
  const nodeArgs = settings.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${settings.profileDir}`] : [];
  const [cmd, argv] = settings.pin ? ['taskset', ['-c', SERVER_CORE, process.execPath, ...nodeArgs, entry]] : [process.execPath, [...nodeArgs, entry]];
  const cp = track(spawn(cmd, argv, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }));
  serverPids.add(cp.pid);
  const log = [];
  const keep = (d) => { for (const l of String(d).split('\n')) if (l.trim()) { log.push(l.slice(0, 500)); if (log.length > 40) log.shift(); } };
  cp.stdout.on('data', keep);
  cp.stderr.on('data', keep);
  let exited = null;
  // Forgotten at exit, so that killAll never signals a pid the system has handed to another process.
  cp.on('exit', (code, sig) => { exited = code ?? sig; serverPids.delete(cp.pid); });
  const deadline = Date.now() + 20_000;
  const healthPath = extraEnv.WORKERS && Number(extraEnv.WORKERS) > 1 ? '/ready' : '/health';
  let healthy = false;
  while (Date.now() < deadline && exited === null) {
    try { const r = await httpGet(port, healthPath); if (r.status === 200) { healthy = true; break; } } catch { /* not yet */ }
    await sleep(100);
  }
  if (!healthy) {
    try { cp.kill('SIGKILL'); } catch { /* gone */ }
    throw new Error(`${kind} did not become healthy (${exited !== null ? `exited ${exited}` : 'timeout'}); output:\n${log.join('\n')}`);
  }
  if (healthPath === '/ready') {
    // Let every worker come up: /health answers from whichever worker accepts.
    await sleep(1500);
  }
  const server = {
    kind, port, secret, cp, pid: cp.pid, log,
    get exited() { return exited; },
    tree() { return processTree(cp.pid); },
    async stop() {
      if (exited !== null) return;
      cp.kill('SIGTERM');
      const until = Date.now() + 8000;
      while (exited === null && Date.now() < until) await sleep(50);
      if (exited === null) { cp.kill('SIGKILL'); await sleep(100); }
      // Cluster workers orphaned by a primary that did not stop them.
      for (const p of processTree(cp.pid)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
      serverPids.delete(cp.pid);
    },
  };
  return server;
}

export function forkChild(script) {
  const opts = { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' };
  if (settings.pin) { opts.execPath = 'taskset'; opts.execArgv = ['-c', CLIENT_CORE, process.execPath]; }
  return track(fork(path.join(BENCH_DIR, script), [], opts));
}

/**
 * Client processes for `total` streams, initialised against `server` with `extra` (see the client's
 * init). opts: script (default client.mjs), perChild (streams per process, default PER_CHILD),
 * minChildren, users and userPrefix (subscriber identities, default --users and bench-sub), perChildInit
 * ((i, k) → more init arguments for client process i of k).
 */
export async function spawnClients(server, total, extra = {}, opts = {}) {
  const k = Math.max(opts.minChildren ?? 1, Math.ceil(total / (opts.perChild ?? PER_CHILD)));
  // One subscriber identity by default: with many users every new user's first stream makes the hub
  // send presence-join to the whole room (quadratic chatter while streams open). --users=N spreads
  // the streams over N user ids (each client process cycles through all of them).
  const users = Math.max(1, opts.users ?? settings.users);
  const prefix = opts.userPrefix ?? 'bench-sub';
  const tokens = Array.from({ length: Math.min(users, 100_000) }, (_, i) => mintToken(server.secret, users === 1 ? prefix : `${prefix}-${i}`, 'user'));
  const cs = Array.from({ length: k }, () => forkChild(opts.script ?? 'client.mjs'));
  await Promise.all(cs.map((c, i) => call(c, 'init', {
    host: '127.0.0.1', port: server.port, room: ROOM, tokens: tokens.slice(i).concat(tokens.slice(0, i)), eventType: EVENT_TYPE, ...extra,
    ...opts.perChildInit?.(i, k),
  }, 10_000)));
  return cs;
}

export async function spawnPublisher(server, extra = {}) {
  const p = forkChild('publisher.mjs');
  const token = mintToken(server.secret, 'bench-pub', 'publisher');
  const info = await call(p, 'init', { host: '127.0.0.1', port: server.port, token, room: ROOM, eventType: EVENT_TYPE, ...extra }, 20_000);
  return { p, info };
}

export async function exitChildren(cs) {
  await Promise.all(cs.map(async (c) => {
    try { await call(c, 'exit', {}, 3000); } catch { /* kill below */ }
    await sleep(20);
    try { c.kill('SIGKILL'); } catch { /* gone */ }
  }));
}

/** Opens `total` streams spread over the client processes. */
export async function openStreams(cs, total, opts = {}) {
  const per = cs.map((_, i) => Math.floor(total / cs.length) + (i < total % cs.length ? 1 : 0));
  const rs = await Promise.all(cs.map((c, i) => (per[i] > 0
    ? call(c, 'open', { count: per[i], ratePerSec: opts.ratePerSec ?? 2000, maxPending: opts.maxPending ?? 100, timeoutMs: opts.timeoutMs ?? 60_000 }, (opts.timeoutMs ?? 60_000) + 15_000)
    : { requested: 0, connected: 0, failed: 0, failures: {}, connectLatencyMs: null })));
  const failures = {};
  for (const r of rs) for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
  return {
    requested: total, connected: rs.reduce((a, r) => a + r.connected, 0), failed: rs.reduce((a, r) => a + r.failed, 0), failures,
    connectP99Ms: Math.max(0, ...rs.map((r) => r.connectLatencyMs?.p99 ?? 0)),
  };
}

export async function gatherStats(cs) {
  const rs = await Promise.all(cs.map((c) => call(c, 'stats', {}, 20_000)));
  const h = new Hist(), hs = new Hist(), hx = new Hist();
  const sum = (k) => rs.reduce((a, r) => a + r[k], 0);
  const merge = (key) => { const o = {}; for (const r of rs) for (const [k, v] of Object.entries(r[key])) o[k] = (o[k] ?? 0) + v; return o; };
  for (const r of rs) { h.merge(Hist.from(r.hist)); hs.merge(Hist.from(r.histSame)); hx.merge(Hist.from(r.histCross)); }
  return {
    open: sum('open'), measured: sum('measured'), deliveries: sum('deliveries'), stray: sum('stray'), controlEvents: sum('controlEvents'),
    parseFallbacks: sum('parseFallbacks'), pings: sum('pings'),
    minUnique: Math.min(...rs.filter((r) => r.measured > 0).map((r) => r.minUnique), Infinity),
    lastDeliveryUs: Math.max(...rs.map((r) => r.lastDeliveryUs)),
    maxPingGapMs: Math.max(...rs.map((r) => r.maxPingGapMs)),
    failures: merge('failures'), closes: merge('closes'), nodes: merge('nodes'),
    hist: h, histSame: hs, histCross: hx,
  };
}

export async function finishPhase(cs, pub) {
  const rs = await Promise.all(cs.map((c) => call(c, 'finish', { toSeq: pub.toSeq, failedSeqs: pub.failed }, 20_000)));
  const out = { connections: 0, complete: 0, expectedPerConnection: rs[0]?.expectedPerConnection ?? 0, missing: 0, duplicates: 0, orderErrors: 0, unexpected: 0, closedDuringPhase: 0, worst: null };
  for (const r of rs) {
    for (const k of ['connections', 'complete', 'missing', 'duplicates', 'orderErrors', 'unexpected', 'closedDuringPhase']) out[k] += r[k];
    if (r.worst && (!out.worst || r.worst.missing > out.worst.missing)) out.worst = r.worst;
  }
  out.ok = out.connections > 0 && out.complete === out.connections && out.expectedPerConnection > 0;
  return out;
}

/** Waits until every measured stream holds every accepted event, or the timeout. */
export async function drain(cs, accepted, timeoutMs) {
  const until = Date.now() + timeoutMs;
  let st = await gatherStats(cs);
  while (st.minUnique < accepted && Date.now() < until) { await sleep(100); st = await gatherStats(cs); }
  return st;
}

/**
 * CPU the machine spent outside the benchmark's processes during a window (other users of a
 * shared machine), in cores; above 0.15 the run is flagged `disturbed`. Softirq time (the kernel's
 * loopback receive work, not charged to any process) is reported apart.
 */
export function machineLoad(m0, m1, wall, ownCpu) {
  const busy = m1.busy - m0.busy, soft = m1.softirq - m0.softirq;
  const foreign = Math.max(0, busy - soft - ownCpu) / wall;
  return { foreignCpuCores: round(foreign, 3), softirqCores: round(soft / wall, 3), stealCores: round((m1.steal - m0.steal) / wall, 3), disturbed: foreign > 0.15 };
}

/** A second of events before measuring, so both servers are past JIT warm-up; then a pause. */
export async function warmUp(pub) {
  await call(pub.p, 'steady', { rate: 20, durationMs: settings.warmupMs }, 60_000);
  await sleep(settings.warmupMs);
}

export function clientPids(cs, pub) { return [...cs.map((c) => c.pid), ...(pub ? [pub.p.pid] : [])]; }


/** Ends a run's load processes (clients, then the publisher) and then its server. */
export async function teardown(server, clients, pub) {
  await exitChildren(clients);
  if (pub) await exitChildren([pub.p]);
  await server.stop();
}

export const round = (v, d) => (v === null || v === undefined || !Number.isFinite(v) ? v : Math.round(v * 10 ** d) / 10 ** d);
export const mb = (b) => round(b / 1048576, 1);
export function log(...a) { console.log(...a); }
