// Scenario `storm` (issue 11): two hub processes A and B on one Redis. Streams on A (spread over
// many users, one room) plus a few that stay on B; B publishes at a steady rate throughout; then A
// is stopped — SIGTERM in one run, SIGKILL in a second — and every client of A comes back to B the
// way a browser's EventSource does (after its reconnection time, with Last-Event-ID; see
// bench/resume-client.mjs). Measured: when the reconnect attempts land, how long until every
// client is back and caught up, refusals, per-client completeness, B's heartbeats and delivery
// latency on the streams that stayed, and B's and Redis's CPU during the storm.
import { randomBytes } from 'node:crypto';
import { call } from '../lib/rpc.mjs';
import { nowUs } from '../lib/clock.mjs';
import { Hist } from '../lib/hist.mjs';
import { cpuSeconds, machineCpu, listenCounters } from '../lib/proc.mjs';
import {
  settings, startServer, spawnClients, spawnPublisher, exitChildren, warmUp, machineLoad, sleep, round, log,
} from '../lib/harness.mjs';
import { scenarioRedis } from '../lib/redis.mjs';

/** The hub's history in this scenario (the bench's default): 50 s of events at 20/s. */
const HISTORY_SIZE = 1000;

/** Sizes per profile; `--storm-streams=N --storm-users=N --storm-signals=SIGKILL` override. */
export const PROFILES = {
  full: { streams: 5000, users: 500, stay: 100, rate: 20, maxInFlight: 32, heartbeatMs: 1000, retryMs: 3000, calmMs: 3000, afterMs: 2000, resumeTimeoutMs: 60_000, targetMs: 10_000 },
  quick: { streams: 1000, users: 100, stay: 100, rate: 20, maxInFlight: 32, heartbeatMs: 1000, retryMs: 3000, calmMs: 2000, afterMs: 1000, resumeTimeoutMs: 60_000, targetMs: 10_000 },
  smoke: { streams: 200, users: 20, stay: 20, rate: 20, maxInFlight: 32, heartbeatMs: 500, retryMs: 500, calmMs: 1000, afterMs: 500, resumeTimeoutMs: 20_000, targetMs: 10_000 },
};

/** Applies the scenario's command-line overrides to a profile. */
export function applyFlags(p, flags) {
  if (flags['storm-streams']) p.streams = Number(flags['storm-streams']);
  if (flags['storm-users']) p.users = Number(flags['storm-users']);
  p.signals = flags['storm-signals'] ? String(flags['storm-signals']).split(',') : ['SIGTERM', 'SIGKILL'];
  p.sharedRedis = flags.redis === 'shared';
  return p;
}

/** Percentile of an array of numbers (nearest rank), null when empty. */
function pct(xs, p) {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
const spread = (xs) => ({ n: xs.length, min: round(pct(xs, 0), 1), p50: round(pct(xs, 50), 1), p99: round(pct(xs, 99), 1), max: round(pct(xs, 100), 1) });

/** Counts per 100 ms bucket of times in ms: [[bucketStartMs, count], ...] for non-empty buckets. */
function buckets100(xs) {
  const m = new Map();
  for (const x of xs) { const b = Math.floor(x / 100) * 100; m.set(b, (m.get(b) ?? 0) + 1); }
  return [...m.entries()].sort((a, b) => a[0] - b[0]);
}

function sumObjects(os) {
  const out = {};
  for (const o of os) for (const [k, v] of Object.entries(o)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** Sums the completeness answers of several client processes. */
function mergeFinish(rs) {
  const keys = ['connections', 'complete', 'missing', 'missingAfterGap', 'clientsWithGap', 'duplicates', 'orderErrors', 'unexpected', 'historyGaps'];
  const out = { ...Object.fromEntries(keys.map((k) => [k, 0])), expectedPerConnection: rs[0]?.expectedPerConnection ?? 0, worst: null };
  for (const r of rs) {
    for (const k of keys) out[k] += r[k];
    if (r.worst && (!out.worst || r.worst.missing > out.worst.missing)) out.worst = r.worst;
  }
  out.ok = out.connections > 0 && out.complete === out.connections && out.expectedPerConnection > 0;
  // Nothing lost without the hub saying so, nothing twice, nothing out of order.
  out.sound = out.connections > 0 && out.missing === out.missingAfterGap && out.duplicates === 0 && out.orderErrors === 0 && out.unexpected === 0;
  return out;
}

async function progress(cs) {
  const rs = await Promise.all(cs.map((c) => call(c, 'progress', {}, 20_000)));
  const sum = (k) => rs.reduce((a, r) => a + r[k], 0);
  return { clients: sum('clients'), open: sum('open'), resumed: sum('resumed'), caughtUp: sum('caughtUp'), minUnique: Math.min(...rs.map((r) => r.minUnique)) };
}

async function openAll(cs, total, ratePerSec) {
  const per = cs.map((_, i) => Math.floor(total / cs.length) + (i < total % cs.length ? 1 : 0));
  const rs = await Promise.all(cs.map((c, i) => call(c, 'open', { count: per[i], ratePerSec: ratePerSec / cs.length, timeoutMs: 120_000 }, 140_000)));
  return { connected: rs.reduce((a, r) => a + r.connected, 0), failures: sumObjects(rs.map((r) => r.failures)) };
}

/** One run: A stopped with `signal`. */
async function runOnce(p, signal, redis) {
  const env = {
    REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix(), JWT_SECRET: randomBytes(32).toString('hex'),
    HEARTBEAT_MS: String(p.heartbeatMs), RETRY_MS: String(p.retryMs), SHUTDOWN_TIMEOUT_MS: '10000', HISTORY_SIZE: String(HISTORY_SIZE),
  };
  const a = await startServer('hub', { ...env, NODE_ID: 'storm-a' });
  const b = await startServer('hub', { ...env, NODE_ID: 'storm-b' });
  // Publishing is open loop (several requests in flight when B is slow), so ids, not bseq, give the order.
  const init = { retryMs: p.retryMs, sequential: p.maxInFlight === 1 };
  const movers = await spawnClients(a, p.streams, init, { script: 'resume-client.mjs', users: p.users, userPrefix: 'storm-user' });
  const stayers = await spawnClients(b, p.stay, init, { script: 'resume-client.mjs', users: p.stay, userPrefix: 'storm-stay' });
  const all = [...movers, ...stayers];
  let pub = null;
  try {
    pub = await spawnPublisher(b);
    const openA = await openAll(movers, p.streams, 2000);
    const openB = await openAll(stayers, p.stay, 2000);
    if (openA.connected < p.streams || openB.connected < p.stay) {
      throw new Error(`streams did not open: A ${openA.connected}/${p.streams} ${JSON.stringify(openA.failures)}, B ${openB.connected}/${p.stay} ${JSON.stringify(openB.failures)}`);
    }
    await warmUp(pub);
    const { seq } = await call(pub.p, 'seq');
    await Promise.all(all.map((c) => call(c, 'begin', { fromSeq: seq })));
    // The calm before: B's CPU rate while it only publishes and beats, subtracted below.
    const bPids = b.tree(), rPids = redis.pids(), cPids = [...all.map((c) => c.pid), pub.p.pid];
    await call(pub.p, 'start', { rate: p.rate, maxInFlight: p.maxInFlight });
    await sleep(Math.min(500, p.calmMs / 2));
    const calm0 = { us: nowUs(), b: cpuSeconds(bPids), a: cpuSeconds(a.tree()), c: cpuSeconds(cPids) };
    await sleep(p.calmMs - Math.min(500, p.calmMs / 2));
    const calmSec = (nowUs() - calm0.us) / 1e6;
    const calmCores = (cpuSeconds(bPids) - calm0.b) / calmSec;
    const calm = { aCores: (cpuSeconds(a.tree()) - calm0.a) / calmSec, clientCores: (cpuSeconds(cPids) - calm0.c) / calmSec };

    // The storm: attempts go to B from now on; A gets the signal.
    const cpu0 = { b: cpuSeconds(bPids), r: cpuSeconds(rPids), c: cpuSeconds(cPids), m: machineCpu(), l: listenCounters() };
    const stopUs = nowUs();
    await Promise.all([
      ...movers.map((c) => call(c, 'storm', { port: b.port, stopUs })),
      ...stayers.map((c) => call(c, 'window', { fromUs: stopUs })),
    ]);
    a.cp.kill(signal);
    const deadline = stopUs + p.resumeTimeoutMs * 1000;
    let pr = await progress(movers);
    while (pr.caughtUp < p.streams && nowUs() < deadline) { await sleep(100); pr = await progress(movers); }
    const endUs = nowUs();
    const wall = (endUs - stopUs) / 1e6;
    const cpu1 = { b: cpuSeconds(bPids), r: cpuSeconds(rPids), c: cpuSeconds(cPids), m: machineCpu(), l: listenCounters() };
    await Promise.all(stayers.map((c) => call(c, 'endWindow', { toUs: endUs })));

    // After the storm: B with every stream, for comparison with its calm rate.
    const after0 = { us: nowUs(), b: cpuSeconds(bPids), c: cpuSeconds(cPids) };
    await sleep(p.afterMs);
    const afterSec = (nowUs() - after0.us) / 1e6;
    const after = { bCores: (cpuSeconds(bPids) - after0.b) / afterSec, clientCores: (cpuSeconds(cPids) - after0.c) / afterSec };
    const r = await call(pub.p, 'stop', {}, 60_000);
    const drainUntil = Date.now() + 10_000;
    while ((await progress(all)).minUnique < r.accepted && Date.now() < drainUntil) await sleep(100);
    const [mv, st] = await Promise.all([movers, stayers].map(async (cs) => ({
      fin: mergeFinish(await Promise.all(cs.map((c) => call(c, 'finish', { toSeq: r.toSeq, failedSeqs: r.failed }, 20_000)))),
      rep: await Promise.all(cs.map((c) => call(c, 'report', {}, 20_000))),
    })));
    const cat = (k) => mv.rep.flatMap((x) => x[k]);
    const attempts = cat('attemptsMs');
    const win = new Hist();
    for (const x of st.rep) win.merge(Hist.from(x.windowHist));
    const bCpu = cpu1.b - cpu0.b, rCpu = cpu1.r - cpu0.r;
    const bExcess = Math.max(0, bCpu - calmCores * wall);
    const resumed = cat('resumedMs'), caughtUp = cat('caughtUpMs');
    const stayGapMs = Math.max(...st.rep.map((x) => x.maxPingGapMs));
    const out = {
      signal, streams: p.streams, users: p.users, stay: p.stay, rate: p.rate, heartbeatMs: p.heartbeatMs, retryMs: p.retryMs, historySize: HISTORY_SIZE,
      aExit: a.exited,
      attempts: attempts.length, attemptMs: spread(attempts), firstAttemptMs: spread(cat('firstAttemptsMs')),
      attemptsPer100ms: buckets100(attempts), peakAttemptsPer100ms: Math.max(0, ...buckets100(attempts).map((x) => x[1])),
      shutdownRetryMs: spread(cat('shutdownRetryMs')),
      resumed: resumed.length, resumedMs: spread(resumed), caughtUp: caughtUp.length, caughtUpMs: spread(caughtUp),
      replayedPerClient: spread(cat('replayed')), replayedTotal: cat('replayed').reduce((s, x) => s + x, 0),
      refusals: sumObjects(mv.rep.map((x) => x.refusals)), connectErrors: sumObjects(mv.rep.map((x) => x.errors)),
      // Machine-wide kernel counters over the storm: SYNs or handshakes dropped at a full accept queue.
      listenQueue: cpu0.l && cpu1.l ? Object.fromEntries(Object.keys(cpu0.l).map((k) => [k, cpu1.l[k] - cpu0.l[k]])) : null,
      completeness: mv.fin, stayCompleteness: st.fin,
      stayDrops: st.rep.reduce((s, x) => s + x.drops, 0),
      stayMaxHeartbeatGapMs: round(stayGapMs, 1), stayLatencyMs: win.summary(),
      bCpuSec: round(bCpu, 2), bCpuCores: round(bCpu / wall, 3), bCalmCpuCores: round(calmCores, 3), bAfterCpuCores: round(after.bCores, 3),
      aCalmCpuCores: round(calm.aCores, 3),
      // The load clients share one core (pinned): near 1, client-side times are late, not the hub.
      clientLoopDelayMs: { p99: round(Math.max(...mv.rep.map((x) => x.loopDelayMs.p99)), 1), max: round(Math.max(...mv.rep.map((x) => x.loopDelayMs.max)), 1) },
      clientCpuCores: { calm: round(calm.clientCores, 3), storm: round((cpu1.c - cpu0.c) / wall, 3), after: round(after.clientCores, 3) },
      // Above B's calm rate: what the resumes cost (connect, replay, presence) rather than publishing.
      bCpuUsPerResume: resumed.length ? round((bExcess * 1e6) / resumed.length, 0) : null,
      redisCpuSec: round(rCpu, 2), redisCpuCores: round(rCpu / wall, 3), stormWindowSec: round(wall, 2),
      published: r.sent, accepted: r.accepted, publishStatuses: r.statuses, publisherLagMaxMs: round(r.maxLagMs, 1), publishRttMs: r.rtt,
      publishMaxInFlight: r.maxInFlight,
      achievedRate: round(r.accepted / ((r.endUs - r.startUs) / 1e6), 2),
      ...machineLoad(cpu0.m, cpu1.m, wall, bCpu + rCpu + (cpu1.c - cpu0.c)),
    };
    out.targets = {
      allBackWithinMs: p.targetMs, met: out.caughtUp === p.streams && (out.caughtUpMs.max ?? Infinity) <= p.targetMs && mv.fin.ok && stayGapMs <= 2 * p.heartbeatMs,
    };
    out.clientBound = Math.max(out.clientCpuCores.calm, out.clientCpuCores.storm) > 0.9;
    // ok: the run worked and nothing was lost silently; events lost after an announced history-gap
    // (the resume took longer than HISTORY_SIZE events) fail the target, not the run.
    out.ok = out.caughtUp === p.streams && mv.fin.sound && st.fin.ok && out.stayDrops === 0;
    return out;
  } finally {
    await exitChildren(all);
    if (pub) await exitChildren([pub.p]);
    await a.stop();
    await b.stop();
  }
}

/** Prints the attempts' 100 ms histogram as bars. */
function printHistogram(r) {
  const rows = r.attemptsPer100ms;
  if (!rows.length) return;
  const peak = Math.max(...rows.map((x) => x[1]));
  log(`    reconnect attempts after ${r.signal}, per 100 ms (ms since the signal: attempts):`);
  const shown = rows.length > 60 ? rows.filter((x) => x[1] >= peak / 50) : rows;
  for (const [t, n] of shown) log(`      ${String(t).padStart(6)}  ${String(n).padStart(5)}  ${'#'.repeat(Math.max(1, Math.round((40 * n) / peak)))}`);
  if (shown.length < rows.length) log(`      (${rows.length - shown.length} buckets with fewer than ${Math.ceil(peak / 50)} attempts not shown)`);
}

/** Runs the scenario: one run per signal, each with fresh hubs, on one Redis. */
export async function run(p) {
  const redis = await scenarioRedis({ shared: p.sharedRedis });
  const out = { redis: redis.private ? 'private redis-server' : 'shared 127.0.0.1:6379', pinned: settings.pin };
  try {
    for (const sig of p.signals) {
      const t = Date.now();
      log(`  storm / ${sig} ...`);
      try {
        out[sig] = await runOnce(p, sig, redis);
        printHistogram(out[sig]);
        log(`  storm / ${sig} done in ${((Date.now() - t) / 1000).toFixed(1)} s${out[sig].ok ? '' : ' (NOT OK)'}`);
      } catch (e) {
        log(`  storm / ${sig} FAILED: ${e.message.split('\n')[0]}`);
        out[sig] = { error: e.message, ok: false };
      }
    }
  } finally {
    await redis.stop();
  }
  out.ok = p.signals.every((s) => out[s]?.ok);
  out.disturbed = p.signals.some((s) => out[s]?.disturbed);
  return out;
}

/** Table rows [scenario, metric, baseline, hub, ratio, target] for the hub column. */
export function rows(res) {
  const out = [];
  for (const sig of ['SIGTERM', 'SIGKILL']) {
    const r = res?.[sig];
    if (!r) continue;
    const sc = `storm ${sig}`;
    const add = (metric, v, target = '') => out.push([sc, metric, null, v, null, target]);
    if (r.error) { add('error', r.error.split('\n')[0]); continue; }
    const s3 = (x) => `${x.p50 ?? '–'} / ${x.p99 ?? '–'} / ${x.max ?? '–'}`;
    add('streams moved A→B (users)', `${r.streams} (${r.users})`);
    add('A exit', r.aExit);
    if (sig === 'SIGTERM') add('shutdown retryMs p50/p99/max', s3(r.shutdownRetryMs), `${r.retryMs}…${2 * r.retryMs}`);
    add('attempts after stop p50/p99/max (ms)', s3(r.attemptMs));
    add('peak attempts per 100 ms', r.peakAttemptsPer100ms);
    add('back (connected) p50/p99/max (ms)', s3(r.resumedMs));
    add('caught up p50/p99/max (ms)', s3(r.caughtUpMs), `all ≤ ${r.targets.allBackWithinMs} ms`);
    add('caught up / streams', `${r.caughtUp} / ${r.streams}`, 'all');
    add('events replayed per client p50/p99/max', s3(r.replayedPerClient));
    add('refusals (by status)', JSON.stringify(r.refusals));
    add('failed attempts (by error)', JSON.stringify(r.connectErrors));
    if (r.listenQueue) add('kernel: listen overflows / SYN cookies', `${r.listenQueue.listenOverflows} / ${r.listenQueue.syncookiesSent}`, '0 (machine-wide)');
    add('missing / dup / order (movers)', `${r.completeness.missing} / ${r.completeness.duplicates} / ${r.completeness.orderErrors}`, '0 / 0 / 0');
    if (r.completeness.clientsWithGap) add('… missing after history-gap (clients)', `${r.completeness.missingAfterGap} (${r.completeness.clientsWithGap})`, `HISTORY_SIZE ${r.historySize}`);
    add('missing / dup / order (stayers)', `${r.stayCompleteness.missing} / ${r.stayCompleteness.duplicates} / ${r.stayCompleteness.orderErrors}`, '0 / 0 / 0');
    add('B heartbeat max gap, stayers (ms)', r.stayMaxHeartbeatGapMs, `≤ ${2 * r.heartbeatMs} (HEARTBEAT_MS ${r.heartbeatMs})`);
    add('B latency in storm p50/p99/max (ms)', s3(r.stayLatencyMs));
    add('B CPU in storm (s / cores)', `${r.bCpuSec} / ${r.bCpuCores}`);
    add('B CPU cores before / after the storm', `${r.bCalmCpuCores} / ${r.bAfterCpuCores}`);
    add('B CPU per resumed stream above calm (µs)', r.bCpuUsPerResume);
    add('Redis CPU in storm (s / cores)', `${r.redisCpuSec} / ${r.redisCpuCores}`);
    add('publishes/s; RTT p99 / max (ms); in flight', `${r.achievedRate}; ${r.publishRttMs.p99} / ${r.publishRttMs.max}; ≤ ${r.publishMaxInFlight}`, `${r.rate}/s`);
    add('client event-loop delay p99 / max (ms)', `${r.clientLoopDelayMs.p99} / ${r.clientLoopDelayMs.max}`, 'small, else client times are late');
    add('client CPU cores calm / storm / after', `${r.clientCpuCores.calm} / ${r.clientCpuCores.storm} / ${r.clientCpuCores.after}`, '< 0.9 else client-bound');
    add('foreign CPU load (cores)', r.foreignCpuCores, '≈ 0 on a quiet machine');
    add('targets met', r.targets.met ? 'yes' : 'no');
  }
  return out;
}
