// Load-client child process that behaves like a browser's EventSource (HTML Living Standard,
// "Server-sent events"): when its stream ends or its connection fails it waits its reconnection
// time (the last `retry:` it saw, else the initial one) and connects again with `Last-Event-ID`
// set to the last event id it received. Used by the storm scenario: a 'storm' call moves the
// target of every later attempt to another hub, and from then on each client records when it
// tried, when it was back (`connected`) and when it had caught up, and checks that it holds every
// event of the phase exactly once and in order. Driven by bench/scenarios/storm.mjs over IPC.
import net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SseParser } from './lib/sse-parser.mjs';
import { ResponseReader } from './lib/http-stream.mjs';
import { Hist } from './lib/hist.mjs';
import { nowUs } from './lib/clock.mjs';
import { serve } from './lib/rpc.mjs';
import { hasSeq, markSeq } from './lib/seqbits.mjs';

let cfg = null;          // {host, port, room, tokens[], eventType, retryMs, sequential}
let target = null;       // {host, port}: where the next connection attempt goes
const clients = [];
let phase = null;        // {fromSeq}: the seqs checked for completeness are above fromSeq
let storm = null;        // {stopUs}: the moment the first hub was stopped (shared monotonic clock)
let latWindow = null;    // {fromUs, toUs}: latency of events published in this window
let winHist = new Hist();
let pending = 0;         // attempts in flight of clients never open yet (paces the initial ramp)
const refusals = {};     // non-200 answers by status
const errors = {};       // failed attempts by socket error / reason
let shutdownRetryMs = [];// retryMs of the shutdown events received
// This process's own event-loop delay: when it is large, the times it records are late, not the hub.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });

/** A non-negative integer written right after `key` in s, or -1. */
function intAfter(s, key) {
  const i = s.indexOf(key);
  if (i === -1) return -1;
  let v = 0, digits = 0;
  for (let j = i + key.length; j < s.length; j++) {
    const c = s.charCodeAt(j) - 48;
    if (c < 0 || c > 9) break;
    v = v * 10 + c; digits++;
  }
  return digits > 0 ? v : -1;
}

const count = (o, k) => { o[k] = (o[k] ?? 0) + 1; };

class Client {
  constructor(index) {
    this.index = index;
    this.token = cfg.tokens[index % cfg.tokens.length];
    this.retryMs = cfg.retryMs;   // the reconnection time; `retry:` lines change it
    this.lastEventId = '';        // kept across connections, as EventSource does
    this.state = 'idle';          // connecting | open | waiting
    this.sock = null;
    this.everOpen = false;
    this.attemptUs = 0;
    this.drops = 0;               // streams that ended or failed after being open
    this.attempts = [];           // attempt times after the stop, µs since the stop
    this.resumedUs = 0;           // `connected` from the new hub, µs since the stop
    this.caughtUpUs = 0;          // first event published after the successful attempt began
    this.resumeAttemptUs = 0;
    this.replayed = 0;            // events replayed on the resumed stream
    this.lastPingUs = 0; this.maxGapUs = 0;
    this.resetPhase();
  }

  resetPhase() {
    this.bits = null; this.unique = 0; this.dups = 0; this.seqRegress = 0; this.idRegress = 0;
    this.lastSeq = -1; this.lastId = ''; this.historyGaps = 0; this.maxGapUs = 0;
    if (this.state === 'open') this.lastPingUs = nowUs();
  }

  connect() {
    const now = nowUs();
    this.state = 'connecting';
    if (!this.everOpen) pending++;
    this.attemptUs = now;
    if (storm) this.attempts.push(now - storm.stopUs);
    const sock = net.connect({ host: target.host, port: target.port });
    this.sock = sock;
    const parser = new SseParser({
      onEvent: (type, data, id) => this.onEvent(type, data, id),
      onComment: () => this.onPing(),
      onRetry: (ms) => { this.retryMs = ms; },
    });
    // The last event ID buffer outlives a connection (a fresh parser would start empty).
    parser.lastEventIdBuffer = this.lastEventId;
    parser.lastEventId = this.lastEventId;
    const req = `GET /events?rooms=${encodeURIComponent(cfg.room)} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\n` +
      `Accept: text/event-stream\r\nCache-Control: no-cache\r\nAuthorization: Bearer ${this.token}\r\n` +
      (this.lastEventId !== '' ? `Last-Event-ID: ${this.lastEventId}\r\n` : '') + '\r\n';
    sock.on('connect', () => sock.write(req));
    const reader = new ResponseReader({
      onHead: (head) => {
        if (head.status !== 200) this.refused(sock, head.status, head.headers['retry-after']);
        else if (!(head.headers['content-type'] ?? '').startsWith('text/event-stream')) this.ended(sock, 'bad_content_type');
      },
      onBody: (b) => parser.pushBytes(b),
      onEnd: () => this.ended(sock, 'stream_ended'),
      onError: (m) => this.ended(sock, `bad_http: ${m}`),
    });
    sock.on('data', (buf) => { if (this.sock === sock) reader.push(buf); });
    sock.on('error', (e) => this.ended(sock, e.code ?? 'socket_error'));
    sock.on('close', () => this.ended(sock, 'closed'));
  }

  /** The stream ended or the attempt failed: reconnect after the reconnection time. */
  ended(sock, reason) {
    if (this.sock !== sock) return;
    this.sock = null;
    sock.destroy();
    if (this.state === 'open') this.drops++;
    else if (this.state === 'connecting') { count(errors, reason); if (!this.everOpen) pending--; }
    this.schedule(this.retryMs);
  }

  /**
   * A non-200 answer. A browser's EventSource gives up here; an application creates a new one
   * (its onerror handler), so the bench tries again after Retry-After, else the reconnection time.
   */
  refused(sock, status, retryAfter) {
    if (this.sock !== sock) return;
    this.sock = null;
    sock.destroy();
    count(refusals, status);
    if (!this.everOpen) pending--;
    const ra = Number(retryAfter);
    this.schedule(Number.isFinite(ra) && ra > 0 ? ra * 1000 : this.retryMs);
  }

  schedule(ms) {
    this.state = 'waiting';
    setTimeout(() => { if (this.state === 'waiting') this.connect(); }, ms);
  }

  onPing() {
    const now = nowUs();
    if (this.lastPingUs > 0) { const g = now - this.lastPingUs; if (g > this.maxGapUs) this.maxGapUs = g; }
    this.lastPingUs = now;
  }

  onEvent(type, data, id) {
    this.lastEventId = id;
    if (type === cfg.eventType && id !== '') { this.onBench(data, id); return; }
    if (type === 'connected') {
      const now = nowUs();
      this.state = 'open';
      this.lastPingUs = now;
      if (!this.everOpen) { this.everOpen = true; pending--; }
      if (storm && this.resumedUs === 0 && this.attempts.length > 0) {
        this.resumedUs = now - storm.stopUs;
        this.resumeAttemptUs = this.attemptUs;
      }
      return;
    }
    if (type === 'history-gap') this.historyGaps++;
    else if (type === 'shutdown') {
      try { shutdownRetryMs.push(JSON.parse(data).retryMs); } catch { /* counted as missing below */ }
    }
  }

  onBench(data, id) {
    const now = nowUs();
    const seq = intAfter(data, '"bseq":');
    const ts = intAfter(data, '"bts":');
    if (seq < 0 || ts < 0 || phase === null || seq <= phase.fromSeq) return;
    if (latWindow && ts >= latWindow.fromUs && ts <= latWindow.toUs) winHist.record(now - ts);
    if (this.resumeAttemptUs > 0 && this.caughtUpUs === 0) {
      // Before the first event published after its attempt began, the new hub is replaying.
      if (ts >= this.resumeAttemptUs) this.caughtUpUs = now - storm.stopUs;
      else this.replayed++;
    }
    const k = seq - phase.fromSeq;
    const marked = markSeq(this.bits, k);
    this.bits = marked.bits;
    if (marked.seen) this.dups++;
    else this.unique++;
    // Fixed-width ids: string order is publish order; bseq order too when one publish is in flight at a time.
    if (cfg.sequential && seq < this.lastSeq) this.seqRegress++;
    if (this.lastId !== '' && !(this.lastId < id)) this.idRegress++;
    this.lastSeq = seq; this.lastId = id;
  }

  close() {
    this.state = 'closed';
    if (this.sock) { const s = this.sock; this.sock = null; s.destroy(); }
  }
}

async function openMany({ count: n, ratePerSec = 2000, maxPending = 100, timeoutMs = 60_000 }) {
  const deadline = Date.now() + timeoutMs;
  const perTick = Math.max(1, Math.round(ratePerSec / 100));
  const t0 = nowUs();
  let started = 0;
  while (Date.now() < deadline) {
    if (started < n) {
      for (let budget = Math.min(perTick, n - started, maxPending - pending); budget > 0; budget--) {
        const c = new Client(clients.length);
        clients.push(c);
        started++;
        c.connect();
      }
    } else if (clients.every((c) => c.everOpen)) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const connected = clients.filter((c) => c.everOpen).length;
  return { requested: n, connected, failed: n - connected, failures: { ...errors, ...Object.fromEntries(Object.entries(refusals).map(([k, v]) => [`http_${k}`, v])) }, openSec: (nowUs() - t0) / 1e6 };
}

/** Counts the orchestrator polls during the storm. */
function progress() {
  let open = 0, resumed = 0, caughtUp = 0, minUnique = Infinity;
  for (const c of clients) {
    if (c.state === 'open') open++;
    if (c.resumedUs > 0) resumed++;
    if (c.caughtUpUs > 0) caughtUp++;
    if (c.unique < minUnique) minUnique = c.unique;
  }
  return { clients: clients.length, open, resumed, caughtUp, minUnique: clients.length ? minUnique : 0 };
}

/** Everything measured, in milliseconds (times since the stop). */
function report() {
  const now = nowUs();
  let maxGapUs = 0, drops = 0, historyGaps = 0;
  const attempts = [], firstAttempts = [], resumed = [], caughtUp = [], replayed = [];
  for (const c of clients) {
    const stall = c.state === 'open' ? now - c.lastPingUs : 0;
    maxGapUs = Math.max(maxGapUs, c.maxGapUs, stall);
    drops += c.drops; historyGaps += c.historyGaps;
    for (const a of c.attempts) attempts.push(a / 1000);
    if (c.attempts.length) firstAttempts.push(c.attempts[0] / 1000);
    if (c.resumedUs) resumed.push(c.resumedUs / 1000);
    if (c.caughtUpUs) { caughtUp.push(c.caughtUpUs / 1000); replayed.push(c.replayed); }
  }
  return {
    ...progress(), drops, historyGaps, maxPingGapMs: maxGapUs / 1000, refusals, errors,
    attemptsMs: attempts, firstAttemptsMs: firstAttempts, resumedMs: resumed, caughtUpMs: caughtUp, replayed,
    shutdownRetryMs, windowHist: winHist.toJSON(),
    loopDelayMs: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
  };
}

/** Completeness of the phase: every seq in (fromSeq, toSeq] but the failed ones, once, in order. */
function finish({ toSeq, failedSeqs = [] }) {
  const failed = new Set(failedSeqs.map((s) => s - phase.fromSeq));
  const expected = toSeq - phase.fromSeq - failed.size;
  // A client told `history-gap` lost events the hub no longer kept (announced, per the contract);
  // any other missing event is a silent loss.
  const out = { connections: 0, complete: 0, expectedPerConnection: expected, missing: 0, missingAfterGap: 0, clientsWithGap: 0, duplicates: 0, orderErrors: 0, unexpected: 0, historyGaps: 0, worst: null };
  for (const c of clients) {
    out.connections++;
    let unexp = 0;
    for (const k of failed) if (hasSeq(c.bits, k)) unexp++;
    const miss = Math.max(0, expected - (c.unique - unexp));
    const ord = c.seqRegress + c.idRegress;
    out.missing += miss; out.duplicates += c.dups;
    if (c.historyGaps > 0) { out.clientsWithGap++; out.missingAfterGap += miss; } out.orderErrors += ord; out.unexpected += unexp; out.historyGaps += c.historyGaps;
    if (miss === 0 && c.dups === 0 && ord === 0 && unexp === 0) out.complete++;
    else if (out.worst === null || miss > out.worst.missing) out.worst = { index: c.index, missing: miss, dups: c.dups, order: ord, lastEventId: c.lastEventId, state: c.state };
  }
  return out;
}

serve({
  init(args) {
    cfg = { eventType: 'bench', retryMs: 3000, sequential: true, ...args };
    target = { host: cfg.host, port: cfg.port };
    loopDelay.enable();
    return { pid: process.pid };
  },
  open: openMany,
  begin({ fromSeq }) { phase = { fromSeq }; for (const c of clients) c.resetPhase(); return { clients: clients.length }; },
  /** From now on attempts go to `port` and are timed from stopUs. */
  storm({ port, stopUs }) { target = { host: cfg.host, port }; storm = { stopUs }; loopDelay.reset(); return {}; },
  window({ fromUs, toUs = Infinity }) { latWindow = { fromUs, toUs }; winHist = new Hist(); return {}; },
  endWindow({ toUs }) { if (latWindow) latWindow.toUs = toUs; return {}; },
  progress,
  report,
  finish,
  exit() { for (const c of clients) c.close(); setTimeout(() => process.exit(0), 10); return {}; },
});
