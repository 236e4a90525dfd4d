// Reading CPU time and memory of processes from /proc (Linux).
import { readFileSync, readdirSync } from 'node:fs';

const CLK_TCK = 100; // USER_HZ; constant 100 on every Linux ABI Node runs on

function stat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const rp = s.lastIndexOf(')');
    const f = s.slice(rp + 2).split(' ');
    // f[0] = state (field 3); utime = field 14 → f[11], stime = field 15 → f[12], ppid = field 4 → f[1]
    return { ppid: Number(f[1]), utime: Number(f[11]), stime: Number(f[12]), comm: s.slice(s.indexOf('(') + 1, rp) };
  } catch {
    return null;
  }
}

/** The pid and every live descendant (cluster workers). */
export function processTree(pid) {
  const all = [];
  let pids;
  try { pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number); } catch { return [pid]; }
  const parent = new Map();
  for (const p of pids) { const st = stat(p); if (st) parent.set(p, st.ppid); }
  const want = new Set([pid]);
  let grew = true;
  for (let round = 0; grew && round < 10; round++) {
    grew = false;
    for (const [p, pp] of parent) if (!want.has(p) && want.has(pp)) { want.add(p); grew = true; }
  }
  for (const p of want) if (parent.has(p)) all.push(p);
  return all;
}

/** CPU seconds (user + system, all threads) of the given pids. */
export function cpuSeconds(pids) {
  let ticks = 0;
  for (const p of pids) { const st = stat(p); if (st) ticks += st.utime + st.stime; }
  return ticks / CLK_TCK;
}

/** System (kernel) CPU seconds only, summed over pids: with loopback TCP, mostly the socket writes. */
export function systemCpuSeconds(pids) {
  let ticks = 0;
  for (const p of pids) { const st = stat(p); if (st) ticks += st.stime; }
  return ticks / CLK_TCK;
}

/** Resident set size in bytes, summed over pids. */
export function rssBytes(pids) {
  let kb = 0;
  for (const p of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'latin1'));
      if (m) kb += Number(m[1]);
    } catch { /* gone */ }
  }
  return kb * 1024;
}

/** Number of open file descriptors of a pid (null when unreadable). */
export function openFds(pid) {
  try { return readdirSync(`/proc/${pid}/fd`).length; } catch { return null; }
}

/** Pids whose command name is `name` (e.g. redis-server), for reading their CPU. */
export function pidsByName(name) {
  const out = [];
  let pids;
  try { pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)); } catch { return out; }
  for (const p of pids) { const st = stat(p); if (st && st.comm === name) out.push(Number(p)); }
  return out;
}

/** Machine-wide CPU seconds from /proc/stat: {busy, softirq} summed over every core. */
export function machineCpu() {
  try {
    const l = readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...
    const busy = l[0] + l[1] + l[2] + l[5] + l[6] + (l[7] ?? 0);
    return { busy: busy / CLK_TCK, softirq: l[6] / CLK_TCK, steal: (l[7] ?? 0) / CLK_TCK };
  } catch {
    return { busy: 0, softirq: 0, steal: 0 };
  }
}

/**
 * The kernel's machine-wide listen-queue counters (/proc/net/netstat TcpExt): connection attempts
 * dropped because an accept queue was full, and SYN cookies sent. Deltas over a window tell
 * whether a storm of connects overflowed a listener's backlog.
 */
export function listenCounters() {
  try {
    const lines = readFileSync('/proc/net/netstat', 'latin1').split('\n').filter((l) => l.startsWith('TcpExt:'));
    const names = lines[0].split(/\s+/), values = lines[1].split(/\s+/).map(Number);
    const get = (k) => values[names.indexOf(k)] ?? 0;
    return { listenOverflows: get('ListenOverflows'), listenDrops: get('ListenDrops'), syncookiesSent: get('SyncookiesSent'), reqQFullDrop: get('TCPReqQFullDrop') };
  } catch {
    return null;
  }
}
