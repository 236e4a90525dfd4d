// Scenario `capacity-cluster` (issue 11): WORKERS=5 on Redis holds 95,000 streams on one machine.
// Every process (each worker, each client process) stays under its open-file limit: the primary
// spreads connections round-robin over the workers (~19,000 each), and the client sockets are
// spread over several client processes and over source addresses 127.0.0.2… (each source address
// has its own range of ephemeral ports). Then heartbeats must stay on time and one event must
// reach every stream. Reported: connections per worker (from /stats), descriptors per worker, RSS
// and Redis memory per stream, the heartbeats' largest gap and the fan-out's completion time.
import { readFileSync } from 'node:fs';
import { call } from '../lib/rpc.mjs';
import { nowUs } from '../lib/clock.mjs';
import { cpuSeconds, machineCpu, openFds, rssBytes, listenCounters } from '../lib/proc.mjs';
import { mintToken } from '../lib/tokens.mjs';
import {
  settings, startServer, spawnClients, spawnPublisher, exitChildren, openStreams, gatherStats, finishPhase, drain,
  machineLoad, httpGet, sleep, round, mb, log,
} from '../lib/harness.mjs';
import { scenarioRedis } from '../lib/redis.mjs';

/**
 * Local ports the client processes share out, on every source address: each process binds
 * explicit ports from its slice (see localEnd in bench/client.mjs), so a source address offers this
 * whole range rather than the ~28,000 ephemeral ports, at no search cost.
 */
const LOCAL_PORTS = { from: 20_000, to: 61_000 };

/** Streams one client process may hold: its open-file limit here is 20,000, less a reserve. */
const MAX_PER_CLIENT_PROCESS = 18_000;

/** Sizes per profile; `--cc-streams=N --cc-workers=N --cc-clients=N` override. */
export const PROFILES = {
  full: { streams: 95_000, workers: 5, heartbeatMs: 5000, users: 9500, clientProcesses: 6, sources: 5, rate: 2000, settleMs: 5000 },
  quick: { streams: 10_000, workers: 5, heartbeatMs: 2000, users: 1000, clientProcesses: 5, sources: 5, rate: 2000, settleMs: 2000 },
  smoke: { streams: 300, workers: 2, heartbeatMs: 500, users: 30, clientProcesses: 2, sources: 2, rate: 2000, settleMs: 500 },
};

/** The run's time limit: the ramp may go as slow as 100 connects/s on a busy machine. */
export function timeoutMs(p) {
  return Math.max(15 * 60_000, (p.streams / 100) * 1000 + 10 * 60_000);
}

/** Applies the scenario's command-line overrides to a profile. */
export function applyFlags(p, flags) {
  if (flags['cc-streams']) p.streams = Number(flags['cc-streams']);
  if (flags['cc-workers']) p.workers = Number(flags['cc-workers']);
  if (flags['cc-clients']) p.clientProcesses = Number(flags['cc-clients']);
  if (flags['cc-users']) p.users = Number(flags['cc-users']);
  p.sharedRedis = flags.redis === 'shared';
  return p;
}

/** MemAvailable of the machine in MB. */
function memAvailableMB() {
  const m = /MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'latin1'));
  return m ? Math.round(Number(m[1]) / 1024) : null;
}

/** The kernel's TCP socket count and buffer memory (/proc/net/sockstat). */
function tcpSockstat() {
  const m = /TCP: inuse (\d+) orphan \d+ tw (\d+) alloc \d+ mem (\d+)/.exec(readFileSync('/proc/net/sockstat', 'latin1'));
  return m ? { inuse: Number(m[1]), timeWait: Number(m[2]), memMB: mb(Number(m[3]) * 4096) } : null;
}

async function stats(server, token) {
  const r = await httpGet(server.port, '/stats', { Authorization: `Bearer ${token}` });
  if (r.status !== 200) throw new Error(`/stats answered ${r.status}: ${r.body.slice(0, 200)}`);
  return JSON.parse(r.body);
}

const only503 = (failures) => Object.keys(failures).every((f) => f === 'http_503');

/**
 * Opens the streams in ten steps, a line each (rate, connect p99, CPU per connect of the hub and
 * of Redis), so a long ramp shows how the cost moves with the number of streams held.
 */
async function openInSteps(server, redis, cs, p) {
  const nSteps = p.streams >= 10_000 ? 10 : 1;
  const open = { connected: 0, failed: 0, failures: {}, connectP99Ms: 0 };
  const steps = [];
  const own = () => cpuSeconds([...server.tree(), ...cs.map((c) => c.pid), ...redis.pids()]);
  for (let i = 0; i < nSteps; i++) {
    const n = Math.floor((p.streams * (i + 1)) / nSteps) - Math.floor((p.streams * i) / nSteps);
    // The CPU of holding what is open (heartbeats, presence upkeep) over one second, subtracted
    // below, so that a slow step does not charge its connects with the upkeep of the others.
    let hold = { s: 0, r: 0 };
    if (nSteps > 1) {
      const h0 = { t: Date.now(), s: cpuSeconds(server.tree()), r: cpuSeconds(redis.pids()) };
      await sleep(2000);
      const hs = (Date.now() - h0.t) / 1000;
      hold = { s: (cpuSeconds(server.tree()) - h0.s) / hs, r: (cpuSeconds(redis.pids()) - h0.r) / hs };
    }
    const t0 = Date.now(), s0 = cpuSeconds(server.tree()), r0 = cpuSeconds(redis.pids()), m0 = machineCpu(), o0 = own();
    // Generous: on one core the workers may accept far below the offered rate (floor: 100/s).
    const o = await openStreams(cs, n, { ratePerSec: p.rate / cs.length, timeoutMs: Math.round((n / 100) * 1000) + 60_000 });
    const sec = (Date.now() - t0) / 1000;
    const excess = { s: Math.max(0, cpuSeconds(server.tree()) - s0 - hold.s * sec), r: Math.max(0, cpuSeconds(redis.pids()) - r0 - hold.r * sec) };
    const per = (cpu) => (o.connected ? round((cpu * 1e6) / o.connected, 0) : null);
    open.connected += o.connected; open.failed += o.failed; open.connectP99Ms = Math.max(open.connectP99Ms, o.connectP99Ms);
    for (const [k, v] of Object.entries(o.failures)) open.failures[k] = (open.failures[k] ?? 0) + v;
    const step = {
      upTo: open.connected, connectsPerSec: round(o.connected / sec, 0), connectP99Ms: o.connectP99Ms,
      holdCores: { hub: round(hold.s, 3), redis: round(hold.r, 3) },
      hubUsPerConnect: per(excess.s), redisUsPerConnect: per(excess.r), excessCpuSec: { hub: excess.s, redis: excess.r }, failed: o.failed,
      foreignCpuCores: machineLoad(m0, machineCpu(), sec, own() - o0).foreignCpuCores,
    };
    steps.push(step);
    if (nSteps > 1) {
      log(`    open ${step.upTo}: ${step.connectsPerSec}/s, p99 ${step.connectP99Ms} ms, CPU per connect hub ${step.hubUsPerConnect} µs, Redis ${step.redisUsPerConnect} µs` +
        ` (above holding: hub ${step.holdCores.hub}, Redis ${step.holdCores.redis} cores); foreign load ${step.foreignCpuCores} cores` +
        (o.failed ? `; ${o.failed} failed ${JSON.stringify(o.failures)}` : ''));
    }
    if (o.failed > 0 && !only503(o.failures)) break;
  }
  // The primary hands connections to whichever worker is free, not strictly in turn: a worker
  // that reached MAX_STREAMS refuses with 503, and the client tries again (as roomcast's client
  // does after Retry-After), landing on another worker. Refusals are reported.
  const refused = [];
  for (let pass = 0; pass < 3 && open.failed > 0 && only503(open.failures); pass++) {
    refused.push(open.failed);
    await sleep(1000);
    const again = await openStreams(cs, open.failed, { ratePerSec: p.rate / cs.length, timeoutMs: 120_000 });
    open.connected += again.connected; open.failed = again.failed; open.failures = again.failures;
  }
  return { open, steps, refused };
}

/** Runs the scenario once. */
export async function run(p) {
  const redis = await scenarioRedis({ shared: p.sharedRedis });
  const k = Math.max(p.clientProcesses, Math.ceil(p.streams / MAX_PER_CLIENT_PROCESS));
  const sources = Array.from({ length: p.sources }, (_, i) => `127.0.0.${2 + i}`);
  let server = null, cs = [], pub = null;
  try {
    server = await startServer('hub', {
      REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix(), WORKERS: String(p.workers), HEARTBEAT_MS: String(p.heartbeatMs),
      SHUTDOWN_TIMEOUT_MS: '10000',
    });
    const admin = mintToken(server.secret, 'bench-admin', 'admin');
    // Every worker must be up before streams arrive, else round-robin skips it.
    const until = Date.now() + 30_000;
    let s0 = await stats(server, admin);
    while (s0.nodes.length < p.workers && Date.now() < until) { await sleep(200); s0 = await stats(server, admin); }
    if (s0.nodes.length < p.workers) throw new Error(`only ${s0.nodes.length} of ${p.workers} workers appeared in /stats`);
    const mem0 = { rss: rssBytes(server.tree()), redis: await redis.usedMemory(), avail: memAvailableMB() };

    cs = await spawnClients(server, p.streams, { localAddresses: sources },
      {
        perChild: Math.ceil(p.streams / k), minChildren: k, users: p.users, userPrefix: 'cc-user',
        perChildInit: (i, n) => {
          const span = Math.floor((LOCAL_PORTS.to - LOCAL_PORTS.from) / n);
          return { localPorts: { from: LOCAL_PORTS.from + i * span, to: LOCAL_PORTS.from + (i + 1) * span } };
        },
      });
    pub = await spawnPublisher(server);
    const tOpen = Date.now();
    const l0 = listenCounters();
    const { open, steps, refused } = await openInSteps(server, redis, cs, p);
    const l1 = listenCounters();
    const openSec = (Date.now() - tOpen) / 1000;
    // CPU of the connects themselves: each step's CPU above the upkeep of what was already open.
    const openCpu = { s: steps.reduce((a, x) => a + x.excessCpuSec.hub, 0), r: steps.reduce((a, x) => a + x.excessCpuSec.redis, 0) };
    await sleep(p.settleMs);

    const pids = server.tree();
    const s1 = await stats(server, admin);
    const fds = pids.map((pid) => openFds(pid) ?? 0);
    const mem1 = { rss: rssBytes(pids), redis: await redis.usedMemory(), avail: memAvailableMB(), clientRss: rssBytes(cs.map((c) => c.pid)) };
    const sock = tcpSockstat();

    // Heartbeats: watch every stream for three intervals.
    const { seq } = await call(pub.p, 'seq');
    await Promise.all(cs.map((c) => call(c, 'begin', { fromSeq: seq }, 60_000)));
    const w0 = nowUs(), m0 = machineCpu(), own0 = cpuSeconds([...pids, ...cs.map((c) => c.pid), ...redis.pids()]);
    const idle0 = { s: cpuSeconds(pids), r: cpuSeconds(redis.pids()) };
    await sleep(3 * p.heartbeatMs + 500);
    const hb = await gatherStats(cs);
    const idleSec = (nowUs() - w0) / 1e6;
    const idle = { s: (cpuSeconds(pids) - idle0.s) / idleSec, r: (cpuSeconds(redis.pids()) - idle0.r) / idleSec };

    // One event to every stream.
    const cpu0 = cpuSeconds(pids), ccpu0 = cpuSeconds(cs.map((c) => c.pid)), rcpu0 = cpuSeconds(redis.pids());
    const r = await call(pub.p, 'probe', { count: 1 }, 60_000);
    const st = await drain(cs, r.accepted, 60_000);
    const cpu1 = cpuSeconds(pids), ccpu1 = cpuSeconds(cs.map((c) => c.pid)), rcpu1 = cpuSeconds(redis.pids());
    const completeness = await finishPhase(cs, r);
    const streams = open.connected;
    const out = {
      workers: p.workers, requested: p.streams, streams, open: hb.open, failedConnects: open.failed, connectFailures: open.failures, refusedThenRetried: refused, openSteps: steps, closes: hb.closes,
      clientProcesses: cs.length, sourceAddresses: sources, users: p.users,
      openSec: round(openSec, 1), connectsPerSec: round(streams / openSec, 0), connectP99Ms: open.connectP99Ms,
      // CPU per connect while the streams opened, above the upkeep: every worker and the primary, and Redis.
      listenOverflowsDuringOpen: l1 && l0 ? l1.listenOverflows - l0.listenOverflows : null,
      serverCpuUsPerConnect: streams ? round((openCpu.s * 1e6) / streams, 0) : null, redisCpuUsPerConnect: streams ? round((openCpu.r * 1e6) / streams, 0) : null,
      perWorker: s1.nodes.map((n) => ({ nodeId: n.nodeId, connections: n.connections })).sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1)),
      totalConnections: s1.totalConnections, maxFdsPerProcess: Math.max(...fds),
      heartbeatMs: p.heartbeatMs, maxHeartbeatGapMs: round(hb.maxPingGapMs, 1),
      // Holding the streams (heartbeats, presence upkeep), nothing published: CPU in cores.
      idleCpuCores: { hub: round(idle.s, 3), redis: round(idle.r, 3) },
      fanout: {
        accepted: r.accepted, delivered: st.deliveries, completionMs: st.lastDeliveryUs > 0 ? round((st.lastDeliveryUs - r.startUs) / 1000, 1) : null,
        latencyMs: st.hist.summary(), serverCpuSec: round(cpu1 - cpu0, 2), clientCpuSec: round(ccpu1 - ccpu0, 2), redisCpuSec: round(rcpu1 - rcpu0, 2),
      },
      completeness,
      rssMB: mb(mem1.rss), rssPerStreamKB: streams ? round(mem1.rss / streams / 1024, 2) : null,
      rssDeltaPerStreamKB: streams ? round((mem1.rss - mem0.rss) / streams / 1024, 2) : null,
      redisUsedMemoryMB: mb(mem1.redis), redisBytesPerStream: streams && mem1.redis !== null ? round((mem1.redis - mem0.redis) / streams, 0) : null,
      clientRssMB: mb(mem1.clientRss), memAvailableMB: { before: mem0.avail, loaded: mem1.avail }, tcp: sock,
      redis: redis.private ? 'private redis-server' : 'shared 127.0.0.1:6379', pinned: settings.pin,
      // Other users of the machine, from the heartbeat watch to the fan-out's end.
      ...machineLoad(m0, machineCpu(), (nowUs() - w0) / 1e6, cpuSeconds([...pids, ...cs.map((c) => c.pid), ...redis.pids()]) - own0),
    };
    out.targets = { met: streams >= p.streams && completeness.ok && hb.maxPingGapMs <= 2 * p.heartbeatMs && out.maxFdsPerProcess < 20_000 };
    out.ok = open.failed === 0 && hb.open === p.streams && completeness.ok;
    log(`    capacity-cluster: ${streams} streams open in ${out.openSec} s over ${cs.length} client processes; per worker ${out.perWorker.map((w) => w.connections).join(' / ')}`);
    return out;
  } finally {
    // The hub ends the streams first, so the client side never holds the ports in TIME_WAIT.
    if (server) await server.stop();
    await exitChildren(cs);
    if (pub) await exitChildren([pub.p]);
    await redis.stop();
  }
}

/** Table rows [scenario, metric, baseline, hub, ratio, target] for the hub column. */
export function rows(r) {
  const sc = 'capacity-cluster';
  const out = [];
  const add = (metric, v, target = '') => out.push([sc, metric, null, v, null, target]);
  if (!r) return out;
  if (r.error) { add('error', r.error.split('\n')[0]); return out; }
  add(`streams held (WORKERS=${r.workers})`, r.open, `${r.requested.toLocaleString('en-US')}`);
  add('connections per worker (/stats)', r.perWorker.map((w) => w.connections).join(' / '));
  add('max descriptors in one process', r.maxFdsPerProcess, '< 20,000');
  add('connects/s; connect p99 (ms)', `${r.connectsPerSec}; ${r.connectP99Ms}`);
  add('CPU per connect: hub / Redis (µs)', `${r.serverCpuUsPerConnect} / ${r.redisCpuUsPerConnect}`);
  add('kernel listen overflows during open', r.listenOverflowsDuringOpen, '0 (machine-wide)');
  add('failed connects', r.failedConnects === 0 ? 0 : `${r.failedConnects} ${JSON.stringify(r.connectFailures)}`, '0');
  if (r.refusedThenRetried?.length) add('refused (503) then retried, per pass', r.refusedThenRetried.join(' / '));
  add('CPU holding the streams: hub / Redis (cores)', `${r.idleCpuCores.hub} / ${r.idleCpuCores.redis}`);
  add('heartbeat max gap (ms)', r.maxHeartbeatGapMs, `≤ ${2 * r.heartbeatMs} (HEARTBEAT_MS ${r.heartbeatMs})`);
  add('one event: delivered / streams', `${r.completeness.complete} / ${r.completeness.connections}`, 'all');
  add('one event: completion (ms)', r.fanout.completionMs);
  add('one event: latency p50/p99 (ms)', `${r.fanout.latencyMs.p50} / ${r.fanout.latencyMs.p99}`);
  add('RSS all processes (MB)', r.rssMB);
  add('RSS per stream (KB)', r.rssPerStreamKB);
  add('… added by the streams (KB)', r.rssDeltaPerStreamKB);
  add('Redis used_memory per stream (B)', r.redisBytesPerStream);
  add('client processes RSS (MB)', r.clientRssMB);
  add('kernel TCP buffers (MB)', r.tcp?.memMB ?? null);
  add('foreign CPU load (cores)', r.foreignCpuCores, '≈ 0 on a quiet machine');
  add('targets met', r.targets.met ? 'yes' : 'no');
  return out;
}
