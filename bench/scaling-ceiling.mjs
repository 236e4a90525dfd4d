#!/usr/bin/env node
// The publish ceiling of today's one-stream design (docs/scaling.md): the hub's real publish script
// (id, XADD to one stream trimmed to HISTORY_SIZE, PUBLISH on one bus channel), driven by EVALSHA
// from several pipelining connections, with 0, 1, 2 and 4 subscriber processes counting the bus.
// Against a private redis-server it starts on a free port (never 6379); bounded in time (~40 s).
//
//   node bench/scaling-ceiling.mjs [--subs=0,1,2,4] [--duration=5] [--warmup=1] [--publishers=2]
//                                  [--conns=4] [--depth=32] [--bytes=200] [--hub-rate=5000]
//                                  [--fanout=0,10,50,200] [--fanout-rate=1000] [--fanout-depth=1] [--no-pin] [--out=FILE]
//
// A last step runs one real hub process (dist/main.js, no streams) on the bus at --hub-rate
// publishes/s (0: skip) and reports its CPU per bus event: what every node pays for every event.
// Then the fan-out steps: 0, 10, 50 and 200 subscribed sockets (each standing for one node) at a paced
// --fanout-rate, one publish per batch, giving Redis's CPU per publish per subscriber directly.
// Needs a build (`npm run build`): the script is read from dist. With pinning (default, when
// taskset works) redis-server runs on core 0 and every client process on core 1, so the
// "Redis CPU" column is one core's worth at most.
import { fork, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { cpuSeconds, machineCpu } from './lib/proc.mjs';
import { connect, publisherRole, subscriberRole } from './lib/bus-roles.mjs';
import { loadPublishLua } from './lib/publish-script.mjs';

const SELF = fileURLToPath(import.meta.url);
const PREFIX = 'scaling:';
const args = Object.fromEntries(process.argv.slice(2).filter((a) => a.startsWith('--'))
  .map((a) => { const [k, v] = a.slice(2).split('='); return [k, v ?? true]; }));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Orchestration

const PIN = !args['no-pin'] && os.cpus().length >= 2 && spawnSync('taskset', ['-c', '1', 'true']).status === 0;
const children = new Set();

function ask(child, cmd, extra = {}) {
  return new Promise((resolve) => {
    const on = (m) => { if (m.cmd === cmd) { child.off('message', on); resolve(m); } };
    child.on('message', on);
    child.send({ cmd, ...extra });
  });
}

async function forkRole(role, extra) {
  const argv = [`--role=${role}`, ...Object.entries(extra).map(([k, v]) => `--${k}=${v}`)];
  const opts = { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] };
  if (PIN) { opts.execPath = 'taskset'; opts.execArgv = ['-c', '1', process.execPath]; }
  const child = fork(SELF, argv, opts);
  children.add(child);
  child.once('exit', () => children.delete(child));
  await new Promise((resolve, reject) => {
    child.once('message', (m) => (m.cmd === 'ready' ? resolve() : reject(new Error(`${role}: ${JSON.stringify(m)}`))));
    child.once('exit', (code) => reject(new Error(`${role} exited (${code})`)));
  });
  return child;
}

async function endChildren() {
  await Promise.all([...children].map((c) => new Promise((resolve) => {
    const t = setTimeout(() => { c.kill('SIGKILL'); resolve(); }, 2_000);
    c.once('exit', () => { clearTimeout(t); resolve(); });
    try { c.send({ cmd: 'exit' }); } catch { c.kill('SIGKILL'); }
  })));
}

/** A real hub process (dist/main.js) on the private Redis, with no stream: what every node pays per bus event. */
async function spawnHub(redisPort) {
  const port = await freePort();
  const env = {
    PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    REDIS_PREFIX: PREFIX, JWT_SECRET: 'scaling-bench-secret-0123456789-abcdefghijklmnop', LOG_LEVEL: 'warn', SIMULATORS: 'none',
  };
  const main = path.join(path.dirname(SELF), '..', 'dist', 'main.js');
  const proc = PIN ? spawn('taskset', ['-c', '1', process.execPath, main], { env, stdio: ['ignore', 'ignore', 'inherit'] })
    : spawn(process.execPath, [main], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + 15_000;
  for (;;) {
    try { if ((await fetch(`http://127.0.0.1:${port}/ready`)).ok) break; } catch { /* not yet */ }
    if (Date.now() > deadline || proc.exitCode !== null) { proc.kill('SIGKILL'); throw new Error('hub did not become ready'); }
    await sleep(100);
  }
  return { pid: proc.pid, stop: () => new Promise((resolve) => { proc.once('exit', resolve); proc.kill('SIGKILL'); }) };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roomcast-scaling-'));
  const rargs = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const proc = PIN ? spawn('taskset', ['-c', '0', 'redis-server', ...rargs], { stdio: 'ignore' }) : spawn('redis-server', rargs, { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  for (;;) {
    try { (await connect(port)).destroy(); break; } catch (err) {
      if (Date.now() > deadline || proc.exitCode !== null) {
        proc.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`redis-server did not start: ${err}`);
      }
      await sleep(50);
    }
  }
  const client = new Redis({ port, host: '127.0.0.1' });
  const stop = () => new Promise((resolve) => {
    client.disconnect();
    if (proc.exitCode !== null) return resolve(rmSync(dir, { recursive: true, force: true }));
    proc.once('exit', () => resolve(rmSync(dir, { recursive: true, force: true })));
    proc.kill('SIGKILL');
  });
  // taskset execs redis-server, so the pid is redis-server's.
  return { port, pid: proc.pid, client, stop };
}

function infoNumber(text, field) {
  return Number(new RegExp(`^${field}:(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
}

async function runStep(redis, sha, nSubs, o, { hub = false, targetRate = 0, sockets = 1, depth = o.depth } = {}) {
  await redis.client.del(`${PREFIX}seq`, `${PREFIX}history`);
  const subs = [];
  for (let i = 0; i < nSubs; i++) subs.push(await forkRole('sub', { port: redis.port, sockets }));
  const hubProc = hub ? await spawnHub(redis.port) : null;
  const pubs = [];
  const perProcess = targetRate > 0 ? Math.ceil(targetRate / o.publishers) : 0;
  for (let i = 0; i < o.publishers; i++) {
    pubs.push(await forkRole('pub', { port: redis.port, sha, conns: o.conns, depth, bytes: o.bytes, rate: perProcess }));
  }
  await Promise.all(pubs.map((p) => ask(p, 'start')));
  await sleep(o.warmup * 1000);
  await redis.client.config('RESETSTAT');
  const snap = async () => ({
    t: performance.now(),
    cpu: cpuSeconds([redis.pid]),
    hubCpu: hubProc ? cpuSeconds([hubProc.pid]) : 0,
    machine: machineCpu().busy,
    done: (await Promise.all(pubs.map((p) => ask(p, 'report')))).reduce((s, r) => s + r.done, 0),
    out: infoNumber(await redis.client.info('stats'), 'total_net_output_bytes'),
  });
  const a = await snap();
  await sleep(o.duration * 1000);
  const b = await snap();
  // Time inside the script (its PUBLISH included), without reading commands or writing replies.
  const stats = await redis.client.info('commandstats');
  const scriptUs = Number(/^cmdstat_evalsha:.*usec_per_call=([\d.]+)/m.exec(stats)?.[1] ?? NaN);
  const stopped = await Promise.all(pubs.map((p) => ask(p, 'stop')));
  const published = stopped.reduce((s, r) => s + r.done, 0);
  const errors = stopped.reduce((s, r) => s + r.errors, 0);
  // Let the subscribers drain what Redis still holds for them (bounded).
  let reports = [];
  const drainBy = Date.now() + 10_000;
  do {
    reports = await Promise.all(subs.map((s) => ask(s, 'report')));
    if (reports.every((r) => r.msgs >= published || r.closed)) break;
    await sleep(200);
  } while (Date.now() < drainBy);
  const maxOut = infoNumber(await redis.client.info('clients'), 'client_recent_max_output_buffer');
  const busSubscribers = (await redis.client.pubsub('NUMSUB', `${PREFIX}bus`))[1];
  await hubProc?.stop();
  await endChildren();
  const secs = (b.t - a.t) / 1000;
  const rate = (b.done - a.done) / secs;
  if (stopped.some((r) => r.failure)) throw new Error(`publish failed: ${stopped.find((r) => r.failure).failure}`);
  return {
    subscribers: nSubs * sockets + (hub ? 1 : 0),
    ...(targetRate > 0 ? { targetRate, pipelineDepth: depth } : {}),
    ...(hub ? { hub: true, hubCpuUsPerEvent: Number(((1e6 * (b.hubCpu - a.hubCpu)) / (b.done - a.done)).toFixed(2)),
      hubCpuPct: Math.round((100 * (b.hubCpu - a.hubCpu)) / secs), hubStillSubscribed: busSubscribers === 1 } : {}),
    publishesPerSec: Math.round(rate),
    redisCpuPct: Math.round((100 * (b.cpu - a.cpu)) / secs),
    machineCpuPct: Math.round((100 * (b.machine - a.machine)) / secs),
    redisCpuUsPerPublish: Number(((1e6 * (b.cpu - a.cpu)) / (b.done - a.done)).toFixed(2)),
    scriptUsPerCall: scriptUs,
    redisOutMBps: Number(((b.out - a.out) / secs / 1e6).toFixed(1)),
    busMessageBytes: reports[0]?.payload ?? null,
    busMessageRespBytes: reports[0]?.size ?? null,
    delivered: reports.map((r) => r.msgs),
    published, errors,
    subscriberDisconnected: reports.some((r) => r.closed),
    maxOutputBufferBytes: maxOut,
  };
}

/** Least squares y = a + b·x over the points. */
function fit(points) {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const sxx = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  const b = sxx === 0 ? 0 : points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0) / sxx;
  return { a: my - b * mx, b };
}

async function main() {
  const o = {
    subs: String(args.subs ?? '0,1,2,4').split(',').map(Number),
    duration: Number(args.duration ?? 5), warmup: Number(args.warmup ?? 1),
    publishers: Number(args.publishers ?? 2), conns: Number(args.conns ?? 4), depth: Number(args.depth ?? 32),
    bytes: Number(args.bytes ?? 200),
    hubRate: Number(args['hub-rate'] ?? 5000),
    fanout: String(args.fanout ?? '0,10,50,200').split(',').filter(Boolean).map(Number),
    fanoutRate: Number(args['fanout-rate'] ?? 1000), fanoutDepth: Number(args['fanout-depth'] ?? 1),
  };
  const { lua, from } = await loadPublishLua();
  const redis = await startRedis();
  const onSignal = async () => { await endChildren(); await redis.stop(); process.exit(130); };
  process.once('SIGINT', onSignal);
  try {
    const sha = await redis.client.script('LOAD', lua);
    console.log(`script from ${from}; redis-server pid ${redis.pid} port ${redis.port}; pinned: ${PIN}; ` +
      `${o.publishers} publisher processes × ${o.conns} connections × pipeline ${o.depth}; data ${o.bytes} B; ${o.duration} s per step`);
    const rows = [];
    for (const n of o.subs) {
      const row = await runStep(redis, sha, n, o);
      rows.push(row);
      console.log(JSON.stringify(row));
    }
    // A step whose subscriber Redis cut (output buffer limit) did less fan-out than it claims: left out.
    const usable = (list) => list.filter((r) => !r.subscriberDisconnected);
    const model = usable(rows).length ? fit(usable(rows).map((r) => [r.subscribers, r.redisCpuUsPerPublish])) : null;
    const cut = rows.filter((r) => r.subscriberDisconnected).map((r) => r.subscribers);
    if (cut.length) console.log(`subscribers cut by Redis's output buffer limit in the steps with ${cut.join(', ')} subscribers (left out of the fit)`);
    if (o.hubRate > 0) {
      const row = await runStep(redis, sha, 0, o, { hub: true, targetRate: o.hubRate });
      rows.push(row);
      console.log(JSON.stringify(row));
    }
    // Fan-out to many subscribers (each socket stands for a node) at a paced rate, unbatched by
    // default: one publish per Redis event-loop turn, as with publishes arriving one by one.
    const fanout = [];
    for (const n of o.fanout) {
      const procs = n === 0 ? 0 : n >= 2 ? 2 : 1;
      const row = await runStep(redis, sha, procs, o, { targetRate: o.fanoutRate, sockets: Math.ceil(n / Math.max(1, procs)), depth: o.fanoutDepth });
      fanout.push(row);
      rows.push(row);
      console.log(JSON.stringify(row));
    }
    const report = (label, m) => {
      console.log(`${label}: Redis CPU per publish ≈ ${m.a.toFixed(2)} µs + ${m.b.toFixed(3)} µs × subscribers`);
      for (const nodes of [10, 50, 200]) {
        const us = m.a + m.b * nodes;
        console.log(`  ${nodes} nodes: ${us.toFixed(1)} µs/publish → one Redis core tops out near ${Math.round(1e6 / us)} publishes/s`);
      }
    };
    if (model) report(`pipelined ceiling steps (${usable(rows.slice(0, o.subs.length)).map((r) => r.subscribers).join(', ')} subscribers)`, model);
    const fanModel = usable(fanout).length ? fit(usable(fanout).map((r) => [r.subscribers, r.redisCpuUsPerPublish])) : null;
    if (fanModel) report(`paced fan-out steps (${o.fanout.join(', ')} subscribers at ${o.fanoutRate}/s, pipeline ${o.fanoutDepth})`, fanModel);
    if (args.out) writeFileSync(String(args.out), JSON.stringify({ options: o, rows, model, fanModel, redis: (await redis.client.info('server')).match(/redis_version:(\S+)/)?.[1] }, null, 2));
  } finally {
    await endChildren();
    await redis.stop();
  }
}

if (args.role === 'sub') await subscriberRole(args, PREFIX);
else if (args.role === 'pub') await publisherRole(args, PREFIX);
else await main();
