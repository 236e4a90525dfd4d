#!/usr/bin/env node
// roomcast benchmark (issue 6). `npm run bench -- [scenario ...] [options]`
//
// Scenarios: idle fanout burst capacity cluster storm capacity-cluster (default: all). idle to
// capacity run against the naive baseline (bench/baseline-server.mjs) and the hub (dist/main.js)
// in the same invocation, so every figure also comes as a ratio against the baseline; cluster and
// the scenarios in bench/scenarios/ (storm, capacity-cluster: issue 11) run the hub only.
//
// Options:
//   --quick            small sizes (minutes → about a minute); --smoke: a few hundred streams (CI)
//   --targets=a,b      baseline,hub (default both; hub skipped with a note when dist/main.js is missing);
//                      add `floor` for a raw-socket lower bound (bench/floor-server.mjs)
//   --subs=N --streams=N --rate=N --duration=S --concurrency=N   override a profile's sizes
//   --users=N          spread subscriber streams over N user ids (default 1, see spawnClients)
//   --capacity-max=N   last capacity step (default 19900)
//   --out=FILE         JSON path (default bench/results/<timestamp>.json)
//   --no-pin           do not pin with taskset (server core 0, clients core 1 by default)
//   --profile          run the servers with --cpu-prof (bench/results/profiles; summarise with
//                      node bench/profile-summary.mjs FILE)
//   --no-reference     cluster: skip the single-process reference runs (when fanout did not run)
//   --storm-streams=N --storm-users=N --storm-signals=SIGTERM,SIGKILL    storm sizes / runs
//   --cc-streams=N --cc-workers=N --cc-clients=N --cc-users=N          capacity-cluster sizes
//   --redis=shared     storm, capacity-cluster: the machine's Redis (fresh prefix), not a private one
//   --check            exit 1 when a run errored or completeness failed
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { call } from './lib/rpc.mjs';
import { nowUs } from './lib/clock.mjs';
import { cpuSeconds, systemCpuSeconds, rssBytes, openFds, pidsByName, machineCpu } from './lib/proc.mjs';
import {
  settings, BENCH_DIR, ROOT, HUB_ENTRY, PER_CHILD, SERVER_CORE, CLIENT_CORE, killAll, pinAvailable, sleep, startServer,
  spawnClients, spawnPublisher, openStreams, gatherStats, finishPhase, drain, machineLoad, warmUp, clientPids, teardown,
  round, mb, log,
} from './lib/harness.mjs';
import { newRedisPrefix, cleanupRedis, redisUp } from './lib/redis.mjs';
import * as storm from './scenarios/storm.mjs';
import * as capacityCluster from './scenarios/capacity-cluster.mjs';

/** Hub-only scenarios in modules of their own: PROFILES, applyFlags(p, flags), run(p), rows(result), timeoutMs?(p). */
const MODULES = { storm, 'capacity-cluster': capacityCluster };
const ALL_SCENARIOS = ['idle', 'fanout', 'burst', 'capacity', 'cluster', ...Object.keys(MODULES)];

// ---------------------------------------------------------------------------------------------
// Arguments and profiles

function parseArgs(argv) {
  const o = { scenarios: [], flags: {} };
  for (const a of argv) {
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split('=');
      o.flags[k] = v === undefined ? true : v;
    } else o.scenarios.push(a);
  }
  return o;
}

const PROFILES = {
  full: {
    idle: { streams: 10_000, settleMs: 3000 },
    fanout: { subs: 10_000, rate: 4, durationMs: 30_000 },
    burst: { subs: 1000, concurrency: 32, durationMs: 10_000 },
    capacity: { steps: [2000, 4000, 6000, 8000, 10_000, 12_000, 14_000, 16_000, 18_000, 19_000, 19_500, 19_900], heartbeatMs: 1000, probeP99Ms: 2000 },
    cluster: { subs: 10_000, rate: 4, durationMs: 30_000 },
  },
  quick: {
    idle: { streams: 2000, settleMs: 2000 },
    fanout: { subs: 2000, rate: 4, durationMs: 10_000 },
    burst: { subs: 200, concurrency: 32, durationMs: 5000 },
    capacity: { steps: [500, 1000, 1500, 2000], heartbeatMs: 1000, probeP99Ms: 2000 },
    cluster: { subs: 2000, rate: 4, durationMs: 10_000 },
  },
  smoke: {
    idle: { streams: 300, settleMs: 300 },
    fanout: { subs: 300, rate: 20, durationMs: 2000 },
    burst: { subs: 100, concurrency: 8, durationMs: 1500 },
    capacity: { steps: [150, 300], heartbeatMs: 500, probeP99Ms: 5000 },
    cluster: { subs: 300, rate: 20, durationMs: 2000 },
  },
};

function profileFrom(flags) {
  const name = flags.smoke ? 'smoke' : flags.quick ? 'quick' : 'full';
  const p = structuredClone(PROFILES[name]);
  const num = (k) => (flags[k] !== undefined ? Number(flags[k]) : undefined);
  if (num('streams')) p.idle.streams = num('streams');
  if (num('subs')) { p.fanout.subs = num('subs'); p.cluster.subs = num('subs'); p.burst.subs = Math.min(p.burst.subs, num('subs')); }
  if (num('rate')) { p.fanout.rate = num('rate'); p.cluster.rate = num('rate'); }
  if (num('duration')) { p.fanout.durationMs = num('duration') * 1000; p.cluster.durationMs = num('duration') * 1000; p.burst.durationMs = num('duration') * 1000; }
  if (num('concurrency')) p.burst.concurrency = num('concurrency');
  if (num('capacity-max')) p.capacity.steps = p.capacity.steps.filter((s) => s < num('capacity-max')).concat([num('capacity-max')]);
  for (const [sc, m] of Object.entries(MODULES)) p[sc] = m.applyFlags(structuredClone(m.PROFILES[name]), flags);
  return { name, ...p };
}

process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    console.error(`\n${sig}: stopping every benchmark process`);
    killAll();
    await cleanupRedis().catch(() => {});
    process.exit(130);
  });
}

// ---------------------------------------------------------------------------------------------
// Scenarios. Each returns a plain object of figures for one target (baseline | hub).

async function runIdle(kind, p) {
  const server = await startServer(kind);
  const cs = await spawnClients(server, p.streams);
  try {
    await sleep(1000);
    const rss0 = rssBytes(server.tree());
    const t0 = Date.now(), cpu0 = cpuSeconds(server.tree()), ccpu0 = cpuSeconds(cs.map((c) => c.pid)), m0 = machineCpu();
    const open = await openStreams(cs, p.streams);
    const openSec = (Date.now() - t0) / 1000;
    const cpu1 = cpuSeconds(server.tree());
    const load = machineLoad(m0, machineCpu(), openSec, (cpu1 - cpu0) + (cpuSeconds(cs.map((c) => c.pid)) - ccpu0));
    await sleep(p.settleMs);
    const rss1 = rssBytes(server.tree());
    const st = await gatherStats(cs);
    return {
      streams: open.connected, requested: p.streams, failed: open.failed, failures: open.failures, closes: st.closes,
      connectP99Ms: open.connectP99Ms, openSec: round(openSec, 2),
      serverCpuUsPerConnect: open.connected > 0 ? round(((cpu1 - cpu0) * 1e6) / open.connected, 1) : null,
      ...load,
      rssBeforeMB: mb(rss0), rssAfterMB: mb(rss1),
      rssPerStreamKB: open.connected > 0 ? round((rss1 - rss0) / open.connected / 1024, 2) : null,
      fds: openFds(server.pid),
      ok: open.failed === 0 && Object.keys(st.closes).length === 0,
    };
  } finally {
    await teardown(server, cs, null);
  }
}

/** Steady publishing to `subs` subscribers of one room (fanout; cluster with WORKERS=2). */
async function runFanout(kind, p, { cluster = false } = {}) {
  const extraEnv = cluster ? { REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: newRedisPrefix(), WORKERS: '2' } : {};
  const server = await startServer(kind, extraEnv);
  const cs = await spawnClients(server, p.subs, { crossNode: cluster, sequential: true });
  let pub = null;
  try {
    pub = await spawnPublisher(server, { crossNode: cluster, expectNodes: 2 });
    const open = await openStreams(cs, p.subs);
    await warmUp(pub);
    const { seq } = await call(pub.p, 'seq');
    await Promise.all(cs.map((c) => call(c, 'begin', { fromSeq: seq })));
    const pids = server.tree();
    const redisPids = cluster ? pidsByName('redis-server') : [];
    const cpu0 = cpuSeconds(pids), ccpu0 = cpuSeconds(clientPids(cs, pub)), rcpu0 = cpuSeconds(redisPids), m0 = machineCpu();
    const sys0 = systemCpuSeconds(pids);
    const t0 = nowUs();
    const r = await call(pub.p, 'steady', { rate: p.rate, durationMs: p.durationMs }, p.durationMs + 120_000);
    const st = await drain(cs, r.accepted, 10_000);
    const t1 = Math.max(st.lastDeliveryUs, r.endUs);
    const cpu1 = cpuSeconds(pids), ccpu1 = cpuSeconds(clientPids(cs, pub)), rcpu1 = cpuSeconds(redisPids), m1 = machineCpu();
    const sys1 = systemCpuSeconds(pids);
    const wall = (nowUs() - t0) / 1e6;
    const completeness = await finishPhase(cs, r);
    const out = {
      subs: open.connected, failedConnects: open.failed, connectFailures: open.failures,
      rate: p.rate, published: r.sent, accepted: r.accepted, publishErrors: r.errorSamples, publisherLagMaxMs: round(r.maxLagMs, 1),
      deliveries: st.deliveries, deliveriesPerSec: round(st.deliveries / ((t1 - r.startUs) / 1e6), 0),
      serverCpuSec: round(cpu1 - cpu0, 2), serverCpuUtil: round((cpu1 - cpu0) / wall, 3),
      cpuUsPerDelivery: st.deliveries > 0 ? round(((cpu1 - cpu0) * 1e6) / st.deliveries, 3) : null,
      systemCpuUsPerDelivery: st.deliveries > 0 ? round(((sys1 - sys0) * 1e6) / st.deliveries, 3) : null,
      clientCpuUtil: round((ccpu1 - ccpu0) / wall, 3),
      ...machineLoad(m0, m1, wall, (cpu1 - cpu0) + (ccpu1 - ccpu0) + (rcpu1 - rcpu0)),
      achievedRate: round(r.accepted / ((r.endUs - r.startUs) / 1e6), 2),
      latencyMs: st.hist.summary(), publishRttMs: r.rtt, completeness, closes: st.closes,
      serverProcesses: pids.length, rssMB: mb(rssBytes(pids)),
    };
    if (cluster) {
      out.nodes = st.nodes;
      out.publisherNodes = pub.info.nodes;
      out.sameNodeLatencyMs = st.histSame.summary();
      out.crossNodeLatencyMs = st.histCross.summary();
      out.redisCpuUsPerDelivery = redisPids.length && st.deliveries ? round(((rcpu1 - rcpu0) * 1e6) / st.deliveries, 3) : null;
      out.redisPrefix = extraEnv.REDIS_PREFIX;
    }
    out.clientBound = out.clientCpuUtil > 0.9;
    out.ok = completeness.ok && open.failed === 0;
    return out;
  } finally {
    await teardown(server, cs, pub);
    if (cluster) await cleanupRedis();
  }
}


async function runBurst(kind, p) {
  const server = await startServer(kind);
  const cs = await spawnClients(server, p.subs, { sequential: false });
  let pub = null;
  try {
    pub = await spawnPublisher(server);
    const open = await openStreams(cs, p.subs);
    await warmUp(pub);
    const { seq } = await call(pub.p, 'seq');
    await Promise.all(cs.map((c) => call(c, 'begin', { fromSeq: seq })));
    const pids = server.tree();
    const cpu0 = cpuSeconds(pids), ccpu0 = cpuSeconds(clientPids(cs, pub)), m0 = machineCpu();
    const t0 = nowUs();
    const r = await call(pub.p, 'burst', { concurrency: p.concurrency, durationMs: p.durationMs }, p.durationMs + 120_000);
    const st = await drain(cs, r.accepted, 30_000);
    const cpu1 = cpuSeconds(pids), ccpu1 = cpuSeconds(clientPids(cs, pub)), m1 = machineCpu();
    const wall = (nowUs() - t0) / 1e6;
    const completeness = await finishPhase(cs, r);
    const pubSec = (r.endUs - r.startUs) / 1e6;
    const delSec = (Math.max(st.lastDeliveryUs, r.endUs) - r.startUs) / 1e6;
    const out = {
      subs: open.connected, failedConnects: open.failed, concurrency: p.concurrency,
      published: r.sent, accepted: r.accepted, publishErrors: r.errorSamples, statuses: r.statuses,
      publishesPerSec: round(r.accepted / pubSec, 0), publishRttMs: r.rtt,
      deliveries: st.deliveries, deliveriesPerSec: round(st.deliveries / delSec, 0), drainAfterPublishSec: round(delSec - pubSec, 2),
      serverCpuUtil: round((cpu1 - cpu0) / wall, 3),
      cpuUsPerDelivery: st.deliveries > 0 ? round(((cpu1 - cpu0) * 1e6) / st.deliveries, 3) : null,
      clientCpuUtil: round((ccpu1 - ccpu0) / wall, 3),
      ...machineLoad(m0, m1, wall, (cpu1 - cpu0) + (ccpu1 - ccpu0)),
      latencyMs: st.hist.summary(), completeness, closes: st.closes, rssMB: mb(rssBytes(pids)),
    };
    out.clientBound = out.clientCpuUtil > 0.9;
    out.ok = completeness.ok && open.failed === 0;
    return out;
  } finally {
    await teardown(server, cs, pub);
  }
}

/** Adds streams step by step, heartbeats flowing, until something degrades. */
async function runCapacity(kind, p) {
  const hb = p.heartbeatMs;
  const server = await startServer(kind, { HEARTBEAT_MS: String(hb) });
  const max = p.steps[p.steps.length - 1];
  const cs = await spawnClients(server, max);
  let pub = null;
  const steps = [];
  let capacity = 0;
  let degraded = null;
  try {
    pub = await spawnPublisher(server);
    let current = 0;
    for (const target of p.steps) {
      if (server.exited !== null) { degraded = { at: target, reason: `server exited (${server.exited})` }; break; }
      const open = await openStreams(cs, target - current, { timeoutMs: 60_000 });
      current = target;
      let step = null;
      for (let attempt = 1; attempt <= 2; attempt++) {
        const { seq } = await call(pub.p, 'seq');
        await Promise.all(cs.map((c) => call(c, 'begin', { fromSeq: seq })));
        const pids = server.tree();
        const cpu0 = cpuSeconds(pids), ccpu0 = cpuSeconds(clientPids(cs, pub)), m0 = machineCpu();
        const tw = Date.now();
        await sleep(2 * hb + 300);
        const r = await call(pub.p, 'probe', { count: 3 }, 60_000);
        const st = await drain(cs, r.accepted, 5000);
        const cpu1 = cpuSeconds(pids);
        const cpuUtil = (cpu1 - cpu0) / ((Date.now() - tw) / 1000);
        const load = machineLoad(m0, machineCpu(), (Date.now() - tw) / 1000, (cpu1 - cpu0) + (cpuSeconds(clientPids(cs, pub)) - ccpu0));
        const completeness = await finishPhase(cs, r);
        const probe = st.hist.summary();
        const gapLimit = 2 * hb + 250;
        const reasons = [];
        if (open.failed > 0) reasons.push(`${open.failed} connects failed ${JSON.stringify(open.failures)}`);
        if (Object.keys(st.closes).length) reasons.push(`streams closed ${JSON.stringify(st.closes)}`);
        if (st.open < target) reasons.push(`${target - st.open} streams not open`);
        if (st.maxPingGapMs > gapLimit) reasons.push(`heartbeat gap ${Math.round(st.maxPingGapMs)} ms > ${gapLimit} ms`);
        if (r.accepted < r.sent) reasons.push(`${r.sent - r.accepted} probe publishes failed ${JSON.stringify(r.statuses)}`);
        if (!completeness.ok) reasons.push(`probe completeness: missing ${completeness.missing}, dup ${completeness.duplicates}, order ${completeness.orderErrors}`);
        if (probe.p99 !== null && probe.p99 > p.probeP99Ms) reasons.push(`probe p99 ${probe.p99} ms > ${p.probeP99Ms} ms`);
        step = {
          streams: target, open: st.open, connectP99Ms: open.connectP99Ms, maxPingGapMs: round(st.maxPingGapMs, 1),
          probeLatencyMs: probe, serverCpuUtil: round(cpuUtil, 3), foreignCpuCores: load.foreignCpuCores, rssMB: mb(rssBytes(pids)), fds: openFds(server.pid), ok: reasons.length === 0, reasons,
        };
        step.attempt = attempt;
        // Hard failures end the step at once; a slow probe or a late heartbeat (often another
        // process on the machine) is checked a second time before the step counts as degraded.
        const hard = reasons.some((x) => !/^heartbeat gap|^probe p99/.test(x));
        if (step.ok || hard) break;
      }
      steps.push(step);
      log(`    capacity ${kind} ${target}: ${step.ok ? 'ok' : 'DEGRADED: ' + step.reasons.join('; ')} (attempt ${step.attempt}, probe p99 ${step.probeLatencyMs.p99} ms, gap ${step.maxPingGapMs} ms, cpu ${step.serverCpuUtil}, foreign load ${step.foreignCpuCores} cores)`);
      if (!step.ok) { degraded = { at: target, reasons: step.reasons }; break; }
      capacity = step.open;
    }
    const disturbed = steps.some((x) => x.foreignCpuCores > 0.15);
    return { capacity, maxTried: max, heartbeatMs: hb, degraded, steps, disturbed, ok: steps.length > 0 };
  } finally {
    await teardown(server, cs, pub);
  }
}


// ---------------------------------------------------------------------------------------------
// Output


function ratio(h, b) { return h === null || b === null || h === undefined || b === undefined || b === 0 ? null : round(h / b, 2); }

/** Rows for the table: [scenario, metric, baseline, hub, hub/baseline, target]. */
function tableRows(S, withFloor = false) {
  const rows = [];
  const get = (o, pth) => pth.split('.').reduce((a, k) => (a == null ? a : a[k]), o);
  const add = (sc, label, pth, target = '', rowFrom = S[sc]) => {
    if (!rowFrom) return;
    const b = get(rowFrom.baseline, pth), h = get(rowFrom.hub, pth);
    const row = [sc, label, b, h, typeof b === 'number' && typeof h === 'number' ? ratio(h, b) : null, target];
    if (withFloor) row.push(get(rowFrom.floor, pth));
    rows.push(row);
  };
  if (S.idle) {
    add('idle', 'streams open', 'streams');
    add('idle', 'RSS per stream (KB)', 'rssPerStreamKB', 'hub ≤ 12 KB');
    add('idle', 'RSS total (MB)', 'rssAfterMB');
    add('idle', 'server CPU µs per connect', 'serverCpuUsPerConnect');
  }
  if (S.fanout) {
    add('fanout', 'subscribers', 'subs');
    add('fanout', 'deliveries/s', 'deliveriesPerSec');
    add('fanout', 'server CPU µs/delivery', 'cpuUsPerDelivery', 'ratio ≤ 0.33');
    add('fanout', '… of which kernel (µs)', 'systemCpuUsPerDelivery');
    add('fanout', 'server CPU utilisation', 'serverCpuUtil');
    add('fanout', 'latency p50 (ms)', 'latencyMs.p50');
    add('fanout', 'latency p99 (ms)', 'latencyMs.p99', 'hub < 90 ms at 4/s');
    add('fanout', 'latency max (ms)', 'latencyMs.max');
    add('fanout', 'complete streams', 'completeness.complete');
    add('fanout', 'publishes/s achieved', 'achievedRate');
    add('fanout', 'foreign CPU load (cores)', 'foreignCpuCores', '≈ 0 on a quiet machine');
    add('fanout', 'missing / dup / order', 'completenessText');
  }
  if (S.burst) {
    add('burst', 'subscribers', 'subs');
    add('burst', 'publishes/s', 'publishesPerSec', 'ratio ≥ 7');
    add('burst', 'deliveries/s', 'deliveriesPerSec');
    add('burst', 'server CPU µs/delivery', 'cpuUsPerDelivery');
    add('burst', 'latency p50 (ms)', 'latencyMs.p50');
    add('burst', 'latency p99 (ms)', 'latencyMs.p99');
    add('burst', 'latency max (ms)', 'latencyMs.max');
    add('burst', 'client CPU utilisation', 'clientCpuUtil', '< 0.9 else client-bound');
    add('burst', 'foreign CPU load (cores)', 'foreignCpuCores', '≈ 0 on a quiet machine');
    add('burst', 'missing / dup / order', 'completenessText');
  }
  if (S.capacity) {
    add('capacity', 'streams held', 'capacity', 'hub ≥ 19,000');
    add('capacity', 'degraded at', 'degradedText');
  }
  if (S.cluster) {
    add('cluster', 'deliveries/s', 'deliveriesPerSec');
    add('cluster', 'server CPU µs/delivery', 'cpuUsPerDelivery');
    add('cluster', 'latency p99 (ms)', 'latencyMs.p99');
    add('cluster', 'same-node p99 (ms)', 'sameNodeLatencyMs.p99');
    add('cluster', 'cross-node p99 (ms)', 'crossNodeLatencyMs.p99');
    add('cluster', 'missing / dup / order', 'completenessText');
    if (S.cluster.scaling != null) rows.push(['cluster', 'scaling vs single hub (2 cores)', null, S.cluster.scaling, null, '≥ 1.6', ...(withFloor ? [null] : [])]);
    if (S.cluster.scalingWithRedis != null) rows.push(['cluster', '… counting Redis CPU', null, S.cluster.scalingWithRedis, null, '', ...(withFloor ? [null] : [])]);
  }
  for (const [sc, m] of Object.entries(MODULES)) {
    if (S[sc]?.hub) rows.push(...m.rows(S[sc].hub).map((r) => (withFloor ? [...r, null] : r)));
  }
  return rows;
}

function decorate(r) {
  if (!r || r.error) return r;
  if (r.completeness) r.completenessText = `${r.completeness.missing} / ${r.completeness.duplicates} / ${r.completeness.orderErrors}`;
  if ('capacity' in r) r.degradedText = r.degraded ? `${r.degraded.at}: ${(r.degraded.reasons ?? [r.degraded.reason]).join('; ')}` : `none up to ${r.maxTried}`;
  return r;
}

function printTable(rows, withFloor = false) {
  const head = ['scenario', 'metric', 'baseline', 'hub', 'hub/base', 'target', ...(withFloor ? ['floor'] : [])];
  const fmt = (v) => (v === null || v === undefined ? '–' : typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: 3 }) : String(v));
  const cells = [head, ...rows.map((r) => r.map(fmt))];
  const widths = head.map((_, i) => Math.min(60, Math.max(...cells.map((c) => c[i].length))));
  const line = (c) => c.map((v, i) => ((i >= 2 && i <= 4) || i === 6 ? v.padStart(widths[i]) : v.slice(0, 60).padEnd(widths[i]))).join('  ');
  log('');
  log(line(head));
  log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells.slice(1)) log(line(c));
  log('');
}

// ---------------------------------------------------------------------------------------------
// Main

async function withTimeout(promise, ms, what) {
  let t;
  const timeout = new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`${what} exceeded ${Math.round(ms / 1000)} s`)), ms); });
  try { return await Promise.race([promise, timeout]); } finally { clearTimeout(t); }
}

async function main() {
  const { scenarios: asked, flags } = parseArgs(process.argv.slice(2));
  const scenarios = asked.length ? asked : ALL_SCENARIOS;
  for (const s of scenarios) if (!ALL_SCENARIOS.includes(s)) { console.error(`unknown scenario "${s}" (known: ${ALL_SCENARIOS.join(', ')})`); process.exit(2); }
  const profile = profileFrom(flags);
  settings.pin = !flags['no-pin'] && pinAvailable();
  if (profile.name === 'smoke') settings.warmupMs = 250;
  if (flags.users) settings.users = Number(flags.users);
  if (flags.profile) {
    settings.profileDir = path.join(BENCH_DIR, 'results', 'profiles');
    mkdirSync(settings.profileDir, { recursive: true });
  }
  if (settings.pin) spawnSync('taskset', ['-a', '-pc', CLIENT_CORE, String(process.pid)], { stdio: 'ignore' });
  let targets = String(flags.targets ?? 'baseline,hub').split(',').filter(Boolean);
  const notes = [];
  if (targets.includes('hub') && !existsSync(HUB_ENTRY)) {
    notes.push(`hub skipped: ${path.relative(ROOT, HUB_ENTRY)} does not exist (run npm run build)`);
    targets = targets.filter((t) => t !== 'hub');
  }
  const started = new Date();
  const gitRev = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout?.trim() || null;
  const meta = {
    started: started.toISOString(), node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model,
    pinned: settings.pin ? { server: SERVER_CORE, clients: CLIENT_CORE } : false, profile: profile.name, targets, git: gitRev,
    argv: process.argv.slice(2), perClientProcess: PER_CHILD, subscriberUsers: settings.users,
  };
  log(`roomcast bench — profile ${profile.name}, scenarios ${scenarios.join(' ')}, targets ${targets.join(',')}, ${settings.pin ? 'server on core 0, clients on core 1' : 'not pinned'}`);
  for (const n of notes) log(`note: ${n}`);

  const S = {};
  const runOne = async (sc, kind, fn, timeoutMs = 15 * 60_000) => {
    const t = Date.now();
    log(`  ${sc} / ${kind} ...`);
    try {
      const r = decorate(await withTimeout(fn(), timeoutMs, `${sc}/${kind}`));
      log(`  ${sc} / ${kind} done in ${((Date.now() - t) / 1000).toFixed(1)} s${r.ok === false ? ' (NOT OK)' : ''}`);
      return r;
    } catch (e) {
      log(`  ${sc} / ${kind} FAILED: ${e.message.split('\n')[0]}`);
      killAll();
      return { error: e.message, ok: false };
    }
  };

  for (const sc of scenarios) {
    S[sc] = {};
    if (sc === 'cluster') {
      if (!targets.includes('hub')) { S[sc].note = 'cluster runs the hub only'; continue; }
      if (!(await redisUp())) { S[sc].hub = { error: 'Redis at 127.0.0.1:6379 is not reachable', ok: false }; continue; }
      const noRef = Boolean(flags['no-reference']);
      const single = S.fanout?.hub && !S.fanout.hub.error && S.fanout.hub.subs === profile.cluster.subs ? S.fanout.hub
        : noRef ? null : await runOne('cluster', 'hub single (reference)', () => runFanout('hub', profile.cluster));
      if (targets.includes('baseline') && !noRef) {
        S[sc].baseline = S.fanout?.baseline && !S.fanout.baseline.error && S.fanout.baseline.subs === profile.cluster.subs ? S.fanout.baseline
          : await runOne('cluster', 'baseline single (reference)', () => runFanout('baseline', profile.cluster));
      }
      S[sc].hubSingle = single;
      S[sc].hub = await runOne('cluster', 'hub WORKERS=2', () => runFanout('hub', profile.cluster, { cluster: true }));
      const c = S[sc].hub;
      if (c && !c.error && single && !single.error && c.cpuUsPerDelivery && single.cpuUsPerDelivery) {
        // With one core per worker, throughput scales with (CPU per delivery single) / (per worker).
        S[sc].scaling = round((2 * single.cpuUsPerDelivery) / c.cpuUsPerDelivery, 2);
        if (c.redisCpuUsPerDelivery != null) S[sc].scalingWithRedis = round((2 * single.cpuUsPerDelivery) / (c.cpuUsPerDelivery + c.redisCpuUsPerDelivery), 2);
      }
      continue;
    }
    if (MODULES[sc]) {
      if (targets.includes('hub')) S[sc].hub = await runOne(sc, 'hub', () => MODULES[sc].run(profile[sc]), MODULES[sc].timeoutMs?.(profile[sc]));
      else S[sc].note = `${sc} runs the hub only`;
      continue;
    }
    const fn = { idle: runIdle, fanout: runFanout, burst: runBurst, capacity: runCapacity }[sc];
    for (const kind of targets) S[sc][kind] = await runOne(sc, kind, () => fn(kind, profile[sc]));
    if (S[sc].baseline && S[sc].hub) S[sc].ratios = ratios(sc, S[sc]);
  }

  const withFloor = targets.includes('floor');
  const rows = tableRows(S, withFloor);
  printTable(rows, withFloor);
  const result = { meta: { ...meta, finished: new Date().toISOString() }, notes, profile, scenarios: S, table: rows };
  const out = flags.out ? path.resolve(String(flags.out)) : path.join(BENCH_DIR, 'results', `${started.toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2));
  log(`JSON written to ${path.relative(process.cwd(), out) || out}`);
  await cleanupRedis().catch((e) => log(`redis cleanup failed: ${e.message}`));
  const bad = Object.entries(S).flatMap(([sc, o]) => ['baseline', 'hub', 'floor'].filter((k) => o[k] && o[k].ok === false).map((k) => `${sc}/${k}`));
  if (bad.length) log(`not ok: ${bad.join(', ')}`);
  const disturbed = Object.entries(S).flatMap(([sc, o]) => ['baseline', 'hub', 'floor'].filter((k) => o[k]?.disturbed).map((k) => `${sc}/${k}`));
  if (disturbed.length) log(`warning: other processes used CPU during ${disturbed.join(', ')}; absolute figures and ratios are unreliable`);
  killAll();
  process.exitCode = flags.check && bad.length ? 1 : 0;
}

function ratios(sc, o) {
  const b = o.baseline, h = o.hub;
  if (!b || !h || b.error || h.error) return null;
  switch (sc) {
    case 'idle': return { rssPerStream: ratio(h.rssPerStreamKB, b.rssPerStreamKB) };
    case 'fanout': return { cpuPerDelivery: ratio(h.cpuUsPerDelivery, b.cpuUsPerDelivery), p99: ratio(h.latencyMs.p99, b.latencyMs.p99), deliveriesPerSec: ratio(h.deliveriesPerSec, b.deliveriesPerSec) };
    case 'burst': return { publishesPerSec: ratio(h.publishesPerSec, b.publishesPerSec), deliveriesPerSec: ratio(h.deliveriesPerSec, b.deliveriesPerSec), p99: ratio(h.latencyMs.p99, b.latencyMs.p99) };
    case 'capacity': return { capacity: ratio(h.capacity, b.capacity) };
    default: return null;
  }
}

main().catch(async (e) => {
  console.error(e);
  killAll();
  await cleanupRedis().catch(() => {});
  process.exit(1);
});
