import { connect } from 'node:net';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from './support/hub.js';
import { startHubProcess, stopAll } from './support/processes.js';
import { mustStream, type RawStream } from './support/sse-client.js';
import { mint, TEST_SECRET } from './support/tokens.js';
import { waitFor, within } from './support/wait.js';

let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub({ CORS_ORIGINS: 'https://app.example.com', NODE_ID: 'ops-node' });
});
afterAll(async () => {
  await hub.close();
  await stopAll();
});

describe('health, readiness, stats, metrics', () => {
  it('/health answers ok with nodeId and uptime; /ready answers 200', async () => {
    const h = await hub.call('/health');
    expect(h.status).toBe(200);
    expect(await h.json()).toEqual({ status: 'ok', nodeId: 'ops-node', uptimeSec: expect.any(Number) });
    expect((await hub.call('/ready')).status).toBe(200);
  });

  it('/stats has the contract shape, for publishers and admins only', async () => {
    await hub.stream('/events?rooms=s1', hub.token('st-a'));
    await hub.stream('/events?rooms=s1,s2', hub.token('st-b'));
    await hub.call('/broadcast', { method: 'POST', token: hub.token('svc', 'publisher'), json: { type: 'x', room: 's1' } });
    expect((await hub.call('/stats', { token: hub.token('st-a') })).status).toBe(403);
    const r = await hub.call('/stats', { token: hub.token('boss', 'admin') });
    expect(r.status).toBe(200);
    const s = (await r.json()) as Record<string, unknown>;
    expect(Object.keys(s).sort()).toEqual(['activeUsers', 'events', 'history', 'nodes', 'redis', 'roomStats', 'totalConnections', 'totalRooms']);
    expect(s).toMatchObject({
      nodes: [{ nodeId: 'ops-node', connections: 2, uptimeSec: expect.any(Number) }],
      totalConnections: 2, activeUsers: 2, totalRooms: 4,
      roomStats: { s1: 2, s2: 1, 'user:st-a': 1, 'user:st-b': 1 },
      events: { published: 1, delivered: 2, evicted: 0, replayed: 0 },
      history: { size: 1, oldestId: expect.any(String), newestId: expect.any(String) },
      redis: 'disabled',
    });
  });

  it('/metrics is Prometheus text with connections, events, evictions, latency histogram and process metrics', async () => {
    const r = await hub.call('/metrics', { headers: { 'accept-encoding': 'gzip' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(r.headers.get('content-encoding')).toBe('gzip');
    const text = await r.text();
    for (const name of ['roomcast_connections', 'roomcast_events_published_total', 'roomcast_events_delivered_total',
      'roomcast_evictions_total', 'roomcast_delivery_latency_seconds_bucket']) {
      expect(text).toContain(name);
    }
    // process and runtime metrics keep the ecosystem's names, unprefixed, for standard dashboards
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds']) {
      expect(text).toMatch(new RegExp(`^${name}\\{`, 'm'));
    }
    expect(text).not.toMatch(/^roomcast_(process|nodejs)_/m);
    expect(text).toMatch(/roomcast_events_published_total\{node="ops-node"\} 1/);
  });

  it('security headers are set; CORS answers only the configured origins', async () => {
    const ok = await hub.call('/health', { headers: { origin: 'https://app.example.com' } });
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(ok.headers.get('x-content-type-options')).toBe('nosniff');
    expect(ok.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    const other = await hub.call('/health', { headers: { origin: 'https://evil.example.com' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const pre = await hub.call('/broadcast', { method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' } });
    expect(pre.status).toBe(204);
  });
});

describe('the process', () => {
  it('is not ready once shutdown begins, and accepts no new publish', async () => {
    const h = await startTestHub();
    const stopping = h.running.shutdown('test');
    expect(h.running.hub.ready()).toBe(false);
    // A new request meets a closed listener, or (on a socket already mid-request) a 503 in the error shape.
    const answer = await h.call('/broadcast', { method: 'POST', token: h.token('svc', 'publisher'), json: { type: 'x' } })
      .then(async (r) => ({ status: r.status, body: await r.json() }), () => ({ status: 0, body: null }));
    if (answer.status !== 0) expect(answer).toMatchObject({ status: 503, body: { error: { code: 'unavailable' } } });
    await stopping;
  });

  it('stops on a bad configuration with one line naming the variable and a non-zero exit', () => {
    const cases: [Record<string, string>, string][] = [
      [{}, 'JWT_SECRET'],
      [{ JWT_SECRET: 'short' }, 'JWT_SECRET'],
      [{ JWT_SECRET: TEST_SECRET, PORT: 'abc' }, 'PORT'],
      [{ JWT_SECRET: TEST_SECRET, HISTORY_SIZE: '-1' }, 'HISTORY_SIZE'],
      [{ JWT_SECRET: TEST_SECRET, SIMULATORS: 'time,weather' }, 'SIMULATORS'],
      [{ JWT_SECRET: TEST_SECRET, WORKERS: '2' }, 'WORKERS'],
      [{ JWT_SECRET: TEST_SECRET, REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
    ];
    for (const [env, variable] of cases) {
      let stderr = '';
      let status: number | null = 0;
      try {
        execFileSync(process.execPath, ['dist/main.js'], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', stdio: 'pipe', timeout: 10_000 });
      } catch (err) {
        const e = err as { stderr: string; status: number | null };
        stderr = e.stderr;
        status = e.status;
      }
      expect(status, variable).not.toBe(0);
      const lines = stderr.trim().split('\n');
      expect(lines, stderr).toHaveLength(1);
      expect(lines[0]).toContain(variable);
    }
  });

  it('reads .env at start; variables already set win', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roomcast-env-'));
    writeFileSync(join(dir, '.env'), `JWT_SECRET=${TEST_SECRET}\nNODE_ID=from-dotenv\nRETRY_MS=4321\n`);
    const child = await startHubProcess({ RETRY_MS: '999' }, { cwd: dir });
    try {
      const health = (await (await fetch(`${child.url}/health`)).json()) as { nodeId: string };
      expect(health.nodeId).toBe('from-dotenv');
      const s = await mustStream(child.url, '/events', { authorization: `Bearer ${mint('envy')}` });
      expect(s.raw.startsWith('retry: 999\n')).toBe(true);
      s.close();
    } finally {
      await child.kill('SIGKILL');
    }
  });

  it('never logs tokens, passwords or access_token values', async () => {
    const child = await startHubProcess({ DEMO: 'true', JWT_SECRET: TEST_SECRET, LOG_LEVEL: 'info' });
    try {
      const token = mint('logged-user');
      await fetch(`${child.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: 'alice-password-secret' }) });
      await fetch(`${child.url}/rooms?access_token=${token}`);
      await fetch(`${child.url}/rooms`, { headers: { authorization: `Bearer ${token}`, cookie: `roomcast_token=${token}` } });
      await fetch(`${child.url}/health?last`);
      // Requests are logged in order: once the last one is in the log, the others are too.
      await waitFor('the last request in the log', () => child.stdout().includes('/health?last'), 15_000);
      const out = child.stdout();
      expect(out).toContain('access_token=[redacted]');
      expect(out).not.toContain(token);
      expect(out).not.toContain(token.split('.')[2]!);
      expect(out).not.toContain('alice-password-secret');
    } finally {
      await child.kill('SIGKILL');
    }
  });

  it('on SIGTERM: ends each stream right after retry: and event: shutdown, each with its own retryMs in RETRY_MS … 2 × RETRY_MS, and exits 0', async () => {
    const child = await startHubProcess({ JWT_SECRET: TEST_SECRET, SHUTDOWN_TIMEOUT_MS: '5000', RETRY_MS: '2500' });
    try {
      const streams: RawStream[] = [];
      for (let i = 0; i < 12; i++) {
        streams.push(await mustStream(child.url, '/events?rooms=r', { authorization: `Bearer ${mint(`bye${i % 4}`)}` }));
      }
      child.proc.kill('SIGTERM');
      const delays: number[] = [];
      for (const stream of streams) {
        const shutdown = await stream.next<{ reason: string; retryMs: number }>('shutdown', 5000);
        expect(shutdown.reason).toBe('SIGTERM');
        expect(shutdown.retryMs).toBeGreaterThanOrEqual(2500);
        expect(shutdown.retryMs).toBeLessThanOrEqual(5000);
        await stream.ended(5000);
        // The last two frames: `retry: <retryMs>` (for plain EventSource), then the event.
        const tail = stream.frames.slice(-2);
        expect(tail[0]?.retry).toBe(shutdown.retryMs);
        expect(tail[1]?.event).toBe('shutdown');
        delays.push(shutdown.retryMs);
      }
      // Spread, not one instant for everyone (twelve equal draws out of 2501 values would be a bug).
      expect(new Set(delays).size).toBeGreaterThan(1);
      // Bounded generously: the process force-exits after SHUTDOWN_TIMEOUT_MS; how fast it exits is for the bench.
      expect(await within('the process to exit', child.exited, 15_000)).toEqual({ code: 0, signal: null });
    } finally {
      await child.kill('SIGKILL');
    }
  });
  it('on SIGTERM: finishes a publish whose body was still arriving, then closes its keep-alive socket and exits long before the deadline', async () => {
    const child = await startHubProcess({ JWT_SECRET: TEST_SECRET, SHUTDOWN_TIMEOUT_MS: '30000', LOG_LEVEL: 'info' });
    const socket = connect(child.port, '127.0.0.1');
    try {
      let answer = '';
      socket.on('data', (d: Buffer) => { answer += d.toString(); });
      const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      const body = JSON.stringify({ type: 'late', data: 1 });
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(`POST /broadcast HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${mint('svc', 'publisher')}\r\n`
        + `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: keep-alive\r\n\r\n${body.slice(0, 5)}`);
      // Another request answered after it: the hub has read the first one's head by now.
      expect((await fetch(`${child.url}/health`)).status).toBe(200);
      child.proc.kill('SIGTERM');
      await waitFor('shutdown to begin', () => child.stdout().includes('shutting down'), 15_000);
      socket.write(body.slice(5));
      await within('the answer', new Promise<void>((resolve, reject) => {
        const check = setInterval(() => {
          if (answer.includes('\r\n\r\n{')) { clearInterval(check); resolve(); }
        }, 10);
        void ended.then(() => { clearInterval(check); if (!answer.includes('\r\n\r\n{')) reject(new Error(`closed without an answer: ${answer}`)); });
      }), 15_000);
      expect(answer).toMatch(/^HTTP\/1\.1 202 /);
      expect(answer).toMatch(/"id":"\d{16}"/);
      // The socket is closed by the hub once idle, and the process exits then, not at the 30 s deadline.
      await within('the hub to close the socket', ended, 15_000);
      expect(await within('the process to exit', child.exited, 15_000)).toEqual({ code: 0, signal: null });
    } finally {
      socket.destroy();
      await child.kill('SIGKILL');
    }
  });
});
