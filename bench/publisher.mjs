// Publisher child process: POST /broadcast over raw keep-alive sockets, each event carrying a
// sequence number (bseq) and its send time (bts, µs on the machine-wide monotonic clock), so
// subscribers can check completeness and measure latency. Driven by bench/run.mjs over IPC.
import net from 'node:net';
import { ResponseReader } from './lib/http-stream.mjs';
import { Hist } from './lib/hist.mjs';
import { nowUs } from './lib/clock.mjs';
import { serve } from './lib/rpc.mjs';

let cfg = null;    // {host, port, token, room, eventType, pad}
let seq = 0;       // the last sequence number handed out (never reset: phases are seq ranges)

class KeepAlive {
  constructor() { this.sock = null; this.waiter = null; this.reader = null; this.nodeId = null; }

  ensure() {
    if (this.sock && !this.sock.destroyed) return;
    const sock = net.connect({ host: cfg.host, port: cfg.port });
    sock.setNoDelay(true);
    this.sock = sock;
    sock.on('data', (b) => { if (this.reader) this.reader.push(b); });
    const dead = (why) => {
      if (this.sock === sock) this.sock = null;
      const w = this.waiter; this.waiter = null; this.reader = null;
      if (w) w.reject(new Error(why));
    };
    sock.on('error', (e) => dead(e.code ?? 'socket_error'));
    sock.on('close', () => dead('closed'));
  }

  /** Sends one request; resolves {status, body}. */
  request(text) {
    this.ensure();
    return new Promise((resolve, reject) => {
      let status = 0;
      const parts = [];
      this.waiter = { resolve, reject };
      this.reader = new ResponseReader({
        onHead: (h) => { status = h.status; },
        onBody: (b) => parts.push(Buffer.from(b)),
        onEnd: () => { const w = this.waiter; this.waiter = null; this.reader = null; if (w) w.resolve({ status, body: Buffer.concat(parts).toString('utf8') }); },
        onError: (m) => { const w = this.waiter; this.waiter = null; this.reader = null; if (this.sock) this.sock.destroy(); if (w) w.reject(new Error(m)); },
      });
      this.sock.write(text);
    });
  }

  close() { if (this.sock) this.sock.destroy(); this.sock = null; }
}

function getRequest(path) {
  return `GET ${path} HTTP/1.1\r\nHost: ${cfg.host}:${cfg.port}\r\nAuthorization: Bearer ${cfg.token}\r\n\r\n`;
}

let padding = '';
async function publishOne(conn, result) {
  const s = ++seq;
  const nodePart = conn.nodeId !== null && cfg.crossNode ? `,"bn":${JSON.stringify(conn.nodeId)}` : '';
  const t = Math.round(nowUs());
  const body = `{"type":"${cfg.eventType}","room":${JSON.stringify(cfg.room)},"data":{"bseq":${s},"bts":${t}${nodePart},"p":"${padding}"}}`;
  const req = `POST /broadcast HTTP/1.1\r\nHost: ${cfg.host}:${cfg.port}\r\nAuthorization: Bearer ${cfg.token}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  try {
    const r = await conn.request(req);
    result.rtt.record(nowUs() - t);
    result.statuses[r.status] = (result.statuses[r.status] ?? 0) + 1;
    if (r.status === 202) result.accepted++;
    else { result.failed.push(s); if (result.errorSamples.length < 3) result.errorSamples.push(`${r.status} ${r.body.slice(0, 200)}`); }
  } catch (e) {
    result.failed.push(s);
    result.statuses[e.message] = (result.statuses[e.message] ?? 0) + 1;
    if (result.errorSamples.length < 3) result.errorSamples.push(e.message);
  }
}

function newResult() {
  return { fromSeq: seq, toSeq: seq, sent: 0, accepted: 0, failed: [], statuses: {}, errorSamples: [], rtt: new Hist(), startUs: nowUs(), endUs: 0, maxLagMs: 0 };
}
function done(r) {
  r.toSeq = seq; r.sent = r.toSeq - r.fromSeq; r.endUs = nowUs();
  return { ...r, rtt: r.rtt.summary() };
}

let pool = [];   // keep-alive connections; in cluster mode one per distinct node when possible
let next = 0;
let running = null;   // start()..stop(): {r, state, loop}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

serve({
  async init(args) {
    cfg = { eventType: 'bench', pad: 32, crossNode: false, ...args };
    padding = 'x'.repeat(cfg.pad);
    for (const c of pool) c.close();
    pool = [];
    if (!cfg.crossNode) { pool.push(new KeepAlive()); return { nodes: [] }; }
    // Find keep-alive sockets landing on different nodes (a socket stays with the worker that accepted it).
    const byNode = new Map();
    for (let i = 0; i < 16 && byNode.size < (cfg.expectNodes ?? 2); i++) {
      const c = new KeepAlive();
      const r = await c.request(getRequest('/health'));
      try { c.nodeId = JSON.parse(r.body).nodeId ?? null; } catch { c.nodeId = null; }
      if (c.nodeId !== null && !byNode.has(c.nodeId)) byNode.set(c.nodeId, c); else c.close();
    }
    pool = [...byNode.values()];
    if (pool.length === 0) pool.push(new KeepAlive());
    return { nodes: [...byNode.keys()] };
  },

  /** `rate` events per second for `durationMs`, one request at a time, alternating between the pool's sockets. */
  async steady({ rate, durationMs }) {
    const r = newResult();
    const interval = 1000 / rate;
    const count = Math.max(1, Math.round((durationMs / 1000) * rate));
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      const due = t0 + i * interval;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      else r.maxLagMs = Math.max(r.maxLagMs, -wait);
      const conn = pool[next++ % pool.length];
      await publishOne(conn, r);
    }
    return done(r);
  },

  /**
   * Starts publishing `rate` events per second until stop(); answers at once. Open loop: each event
   * is sent on time on a free keep-alive socket, up to `maxInFlight` requests at once, so a slow
   * hub does not slow the offered rate (nor hide its latency); maxInFlight 1 is steady()'s closed
   * loop. With more than one in flight, events may be accepted out of bseq order.
   */
  start({ rate, maxInFlight = 1 }) {
    if (running) throw new Error('already publishing');
    const r = newResult();
    r.maxInFlight = 0;
    const state = { stopped: false };
    const conns = [], free = [], waiters = [], inFlight = new Set();
    const loop = (async () => {
      const interval = 1000 / rate;
      const t0 = performance.now();
      for (let i = 0; !state.stopped; i++) {
        const wait = t0 + i * interval - performance.now();
        if (wait > 0) await sleep(wait);
        else r.maxLagMs = Math.max(r.maxLagMs, -wait);
        if (state.stopped) break;
        let conn = free.pop();
        if (!conn && conns.length < maxInFlight) { conn = new KeepAlive(); conns.push(conn); }
        if (!conn) conn = await new Promise((res) => waiters.push(res));
        const req = publishOne(conn, r).then(() => { inFlight.delete(req); const w = waiters.shift(); if (w) w(conn); else free.push(conn); });
        inFlight.add(req);
        r.maxInFlight = Math.max(r.maxInFlight, inFlight.size);
      }
      while (inFlight.size) await Promise.all([...inFlight]);
      for (const c of conns) c.close();
    })();
    running = { r, state, loop };
    return { fromSeq: r.fromSeq };
  },

  /** Ends what start() began, after the requests in flight; the result as steady() gives it. */
  async stop() {
    if (!running) throw new Error('not publishing');
    const { r, state, loop } = running;
    state.stopped = true;
    await loop;
    running = null;
    return done(r);
  },

  /** As fast as `concurrency` keep-alive requests in flight allow, for `durationMs`. */
  async burst({ concurrency = 32, durationMs }) {
    const r = newResult();
    const conns = Array.from({ length: concurrency }, () => new KeepAlive());
    const deadline = performance.now() + durationMs;
    const maxPerLoop = 10_000_000;
    await Promise.all(conns.map(async (c) => {
      for (let i = 0; i < maxPerLoop && performance.now() < deadline; i++) await publishOne(c, r);
    }));
    for (const c of conns) c.close();
    return done(r);
  },

  /** `count` events one after the other (probes). */
  async probe({ count = 1 }) {
    const r = newResult();
    for (let i = 0; i < count; i++) await publishOne(pool[next++ % pool.length], r);
    return done(r);
  },

  seq() { return { seq }; },
  exit() { for (const c of pool) c.close(); setTimeout(() => process.exit(0), 10); return {}; },
});
