// Load-client child process: holds thousands of SSE streams on raw sockets, parses every frame
// with the WHATWG parser and checks, per connection, that the benchmark's events arrive complete,
// once and in order. Driven by bench/run.mjs over IPC (see serve() handlers at the bottom).
import net from 'node:net';
import { SseParser } from './lib/sse-parser.mjs';
import { ResponseReader } from './lib/http-stream.mjs';
import { Hist } from './lib/hist.mjs';
import { nowUs } from './lib/clock.mjs';
import { serve } from './lib/rpc.mjs';
import { hasSeq, markSeq } from './lib/seqbits.mjs';

let cfg = null;               // {host, port, room, tokens[], authMode, eventType, crossNode, localAddresses[], localPorts}
const conns = [];             // every connection this child opened
let phase = null;             // the measurement window: {fromSeq, startUs}
let hist = new Hist();        // latency of phase deliveries
let histSame = new Hist();    // ... published on the subscriber's node (cluster)
let histCross = new Hist();   // ... published on another node (cluster)
let deliveries = 0;           // bench events of the phase, duplicates included
let stray = 0;                // bench events outside the phase window
let lastDeliveryUs = 0;
let controlEvents = 0;
let parseFallbacks = 0;

/** Reads a non-negative integer written right after `key` in s, or -1. */
function intAfter(s, key) {
  const i = s.indexOf(key);
  if (i === -1) return -1;
  let j = i + key.length;
  let v = 0, digits = 0;
  for (; j < s.length; j++) {
    const c = s.charCodeAt(j) - 48;
    if (c < 0 || c > 9) break;
    v = v * 10 + c; digits++;
  }
  return digits > 0 ? v : -1;
}

function idLess(a, b) {
  // Ids increase strictly; numeric ids of different widths compare by length first.
  if (a.length !== b.length) return a.length < b.length;
  return a < b;
}

class Conn {
  constructor(index) {
    this.index = index;
    this.sock = null;
    this.state = 'connecting';   // connecting | open | failed | closed
    this.failure = null;
    this.t0 = nowUs();
    this.connectUs = 0;
    this.nodeId = null;
    this.measured = false;       // open when the phase began
    this.lastPingUs = 0; this.maxGapUs = 0; this.pings = 0;
    this.bits = null; this.unique = 0; this.dups = 0; this.seqRegress = 0; this.idRegress = 0;
    this.lastSeq = -1; this.lastId = '';
    this.closedInPhase = false;
    this.parser = new SseParser({
      onEvent: (type, data, id) => this.onEvent(type, data, id),
      onComment: () => this.onPing(),
    });
    this.reader = null;
    this.bindRetries = 0;
  }

  onPing() {
    const now = nowUs();
    this.pings++;
    if (this.lastPingUs > 0) { const g = now - this.lastPingUs; if (g > this.maxGapUs) this.maxGapUs = g; }
    this.lastPingUs = now;
  }

  onEvent(type, data, id) {
    if (type === cfg.eventType && id !== '') {
      const now = nowUs();
      let seq = intAfter(data, '"bseq":');
      let ts = intAfter(data, '"bts":');
      let bn = null;
      if (seq < 0 || ts < 0) {
        parseFallbacks++;
        try { const d = JSON.parse(data).data; seq = d.bseq; ts = d.bts; bn = d.bn ?? null; } catch { return; }
      }
      if (phase === null || seq <= phase.fromSeq) { stray++; return; }
      deliveries++;
      lastDeliveryUs = now;
      const lat = now - ts;
      hist.record(lat);
      if (cfg.crossNode) {
        if (bn === null) { const i = data.indexOf('"bn":"'); if (i !== -1) bn = data.slice(i + 6, data.indexOf('"', i + 6)); }
        if (bn !== null && this.nodeId !== null) (bn === this.nodeId ? histSame : histCross).record(lat);
      }
      if (!this.measured) return;
      const k = seq - phase.fromSeq;             // 1-based within the phase
      const marked = markSeq(this.bits, k);
      this.bits = marked.bits;
      if (marked.seen) this.dups++;
      else this.unique++;
      if (cfg.sequential && seq < this.lastSeq) this.seqRegress++;
      if (this.lastId !== '' && !idLess(this.lastId, id)) this.idRegress++;
      this.lastSeq = seq; this.lastId = id;
      return;
    }
    if (type === 'connected') {
      if (this.state === 'connecting') {
        this.state = 'open';
        this.connectUs = nowUs() - this.t0;
        this.lastPingUs = nowUs();
        try { this.nodeId = JSON.parse(data).nodeId ?? null; } catch { /* keep null */ }
        pending--;
        openCount++;
      }
      return;
    }
    controlEvents++;
  }

  fail(reason) {
    if (this.state === 'connecting') { pending--; this.state = 'failed'; this.failure = reason; failures[reason] = (failures[reason] ?? 0) + 1; }
    else if (this.state === 'open') {
      this.state = 'closed'; this.failure = reason; openCount--;
      closes[reason] = (closes[reason] ?? 0) + 1;
      if (this.measured) this.closedInPhase = true;
    }
    if (this.sock) { this.sock.destroy(); this.sock = null; }
  }

  open() {
    const sock = net.connect({ host: cfg.host, port: cfg.port, ...localEnd(this.index) });
    this.sock = sock;
    const token = cfg.tokens[this.index % cfg.tokens.length];
    const q = `rooms=${encodeURIComponent(cfg.room)}` + (cfg.authMode === 'query' ? `&access_token=${token}` : '');
    const req = `GET /events?${q} HTTP/1.1\r\nHost: ${cfg.host}:${cfg.port}\r\nAccept: text/event-stream\r\n` +
      (cfg.authMode === 'query' ? '' : `Authorization: Bearer ${token}\r\n`) + '\r\n';
    sock.on('connect', () => sock.write(req));
    this.reader = new ResponseReader({
      onHead: (head) => {
        if (head.status !== 200) { this.fail(`http_${head.status}`); return; }
        const ct = head.headers['content-type'] ?? '';
        if (!ct.startsWith('text/event-stream')) this.fail('bad_content_type');
      },
      onBody: (b) => this.parser.pushBytes(b),
      onEnd: () => this.fail('stream_ended'),
      onError: (m) => this.fail(`bad_http: ${m}`),
    });
    sock.on('data', (buf) => { if (this.sock === sock) this.reader.push(buf); });
    sock.on('error', (e) => {
      // A chosen local port taken by another socket (a listener on 0.0.0.0, a TIME_WAIT): the next one.
      if (e.code === 'EADDRINUSE' && this.state === 'connecting' && this.sock === sock && this.bindRetries++ < 50) {
        this.sock = null; sock.destroy(); this.open(); return;
      }
      this.fail(e.code ?? 'socket_error');
    });
    sock.on('close', () => { if (this.sock === sock) this.fail(this.state === 'connecting' ? 'closed_before_connected' : 'closed_by_server'); });
  }

  close() {
    if (this.state === 'open') openCount--;
    if (this.state === 'connecting') pending--;
    this.state = 'closed';
    if (this.sock) { const s = this.sock; this.sock = null; s.destroy(); }
  }
}

/**
 * The local end of connection `index`: source addresses (127.0.0.x) in turn, each with its own
 * ports; with cfg.localPorts {from, to} an explicit port from this process's share, in turn per
 * address. Binding port 0 to a chosen address makes the kernel search its whole range for a free
 * port on every connect, which costs milliseconds of system time per connect once thousands are
 * taken; an explicit port is one lookup.
 */
const nextPort = [];
function localEnd(index) {
  const la = cfg.localAddresses;
  if (!la) return {};
  const a = index % la.length;
  if (!cfg.localPorts) return { localAddress: la[a] };
  const { from, to } = cfg.localPorts;
  nextPort[a] = nextPort[a] === undefined || nextPort[a] >= to ? from : nextPort[a];
  return { localAddress: la[a], localPort: nextPort[a]++ };
}

let pending = 0;
let openCount = 0;
let failures = {};
let closes = {};

async function openMany({ count, ratePerSec = 2000, maxPending = 100, timeoutMs = 60_000 }) {
  const startIdx = conns.length;
  const created = [];
  const deadline = Date.now() + timeoutMs;
  const perTick = Math.max(1, Math.round(ratePerSec / 100));
  let started = 0;
  while (Date.now() < deadline) {
    if (started < count) {
      let budget = Math.min(perTick, count - started, maxPending - pending);
      for (; budget > 0; budget--) {
        const c = new Conn(startIdx + started);
        conns.push(c); created.push(c);
        pending++; started++;
        c.open();
      }
    } else if (pending <= 0) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  for (const c of created) if (c.state === 'connecting') c.fail('connect_timeout');
  const hc = new Hist();
  let ok = 0;
  const f = {};
  for (const c of created) {
    if (c.state === 'open') { ok++; hc.record(c.connectUs); } else f[c.failure ?? c.state] = (f[c.failure ?? c.state] ?? 0) + 1;
  }
  return { requested: count, connected: ok, failed: count - ok, failures: f, connectLatencyMs: hc.summary() };
}

function beginPhase({ fromSeq }) {
  const now = nowUs();
  phase = { fromSeq, startUs: now };
  hist = new Hist(); histSame = new Hist(); histCross = new Hist();
  deliveries = 0; stray = 0; lastDeliveryUs = 0; controlEvents = 0;
  for (const c of conns) {
    c.measured = c.state === 'open';
    c.bits = null; c.unique = 0; c.dups = 0; c.seqRegress = 0; c.idRegress = 0; c.lastSeq = -1; c.lastId = '';
    c.closedInPhase = false; c.maxGapUs = 0;
    if (c.measured) c.lastPingUs = now;
  }
  return { measured: conns.filter((c) => c.measured).length };
}

function stats() {
  const now = nowUs();
  let minUnique = Infinity, measured = 0, maxGapUs = 0, pings = 0, nodes = {};
  for (const c of conns) {
    if (c.state === 'open') {
      const stall = now - c.lastPingUs;
      const g = Math.max(c.maxGapUs, stall);
      if (g > maxGapUs) maxGapUs = g;
      pings += c.pings;
      if (c.nodeId !== null) nodes[c.nodeId] = (nodes[c.nodeId] ?? 0) + 1;
    }
    if (!c.measured) continue;
    measured++;
    if (c.unique < minUnique) minUnique = c.unique;
  }
  return {
    open: openCount, pending, measured, minUnique: measured ? minUnique : 0,
    deliveries, stray, lastDeliveryUs, controlEvents, parseFallbacks, pings, maxPingGapMs: maxGapUs / 1000,
    failures, closes, nodes,
    hist: hist.toJSON(), histSame: histSame.toJSON(), histCross: histCross.toJSON(),
  };
}

/** Completeness of the phase: expected = seqs (fromSeq, toSeq] minus those whose publish failed. */
function finish({ toSeq, failedSeqs = [] }) {
  const from = phase.fromSeq;
  const failed = new Set(failedSeqs.map((s) => s - from));
  const expectedN = toSeq - from - failed.size;
  let conn = 0, complete = 0, missing = 0, dups = 0, order = 0, unexpected = 0, closed = 0;
  let worst = null;
  for (const c of conns) {
    if (!c.measured) continue;
    conn++;
    let got = c.unique;
    let unexp = 0;
    for (const k of failed) if (hasSeq(c.bits, k)) unexp++;
    got -= unexp;
    // Seqs above toSeq cannot exist (finish runs after publishing ends).
    const miss = Math.max(0, expectedN - got);
    const ord = c.seqRegress + c.idRegress;
    missing += miss; dups += c.dups; order += ord; unexpected += unexp;
    if (c.closedInPhase) closed++;
    if (miss === 0 && c.dups === 0 && ord === 0 && unexp === 0 && !c.closedInPhase) complete++;
    else if (worst === null || miss > worst.missing) worst = { index: c.index, missing: miss, dups: c.dups, order: ord, closed: c.closedInPhase, failure: c.failure };
  }
  return { connections: conn, complete, expectedPerConnection: expectedN, missing, duplicates: dups, orderErrors: order, unexpected, closedDuringPhase: closed, worst };
}

function closeAll() {
  for (const c of conns) c.close();
  const n = conns.length;
  conns.length = 0;
  pending = 0; openCount = 0; failures = {}; closes = {};
  return { closed: n };
}

serve({
  init(args) { cfg = { authMode: 'header', eventType: 'bench', crossNode: false, sequential: true, ...args }; return { pid: process.pid }; },
  open: openMany,
  begin: beginPhase,
  stats,
  finish,
  setSequential({ sequential }) { cfg.sequential = sequential; return {}; },
  closeAll,
  exit() { closeAll(); setTimeout(() => process.exit(0), 10); return {}; },
});
