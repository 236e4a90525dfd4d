// Runs deploy/nginx/nginx.conf for real: Debian's nginx (package `nginx`) in
// front of three `node dist/main.js` processes sharing one Redis, configured
// from docker-compose.scale.yml. Only the upstream addresses and the listen port
// of the config are replaced (see nginxConfForTest); every SSE directive is the
// committed file's. Needs `nginx` on PATH (or /usr/sbin), Redis on
// 127.0.0.1:6379 and `npm run build`.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventSource } from 'eventsource';
import { deletePrefix } from '../support/redis-keys.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environmentOf, loadCompose, nginxConfForTest, readRepoFile, type ComposeService } from './deployfiles.js';
import { freePort, login, postJson, startChild, startHub, waitFor, type Child, type Hub } from './processes.js';
import { RawStream } from './sse.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const NGINX = process.env.NGINX_BIN ?? '/usr/sbin/nginx';
const SECRET = `nginx-test-${randomBytes(24).toString('hex')}`;
const PREFIX = `test-nginx-${randomBytes(4).toString('hex')}:`;
const HEARTBEAT_MS = 1000;
const RETRY_MS = 1000;

/** Event ids in the hub's order: digit strings by value, anything else as strings. */
function idBefore(a: string, b: string): boolean {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return a.length < b.length || (a.length === b.length && a < b);
  return a < b;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

describe('nginx with deploy/nginx/nginx.conf in front of three hubs on Redis', () => {
  let dir: string;
  let nginx: Child;
  let nginxUrl: string;
  const hubs: Hub[] = [];
  const nodeIds: string[] = [];
  let adminToken: string;
  let aliceToken: string;
  const streams: RawStream[] = [];
  const sources: EventSource[] = [];
  let killedAt = 0;

  const hubByNode = (nodeId: string): Hub => hubs[nodeIds.indexOf(nodeId)]!;
  const liveHubOtherThan = (nodeId: string): Hub => hubs.find((h, i) => nodeIds[i] !== nodeId && h.proc.exitCode === null && h.proc.signalCode === null)!;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'roomcast-nginx-'));
    // The three hub services of the scaled compose file, with their environment as compose gives it.
    const compose = loadCompose(['docker-compose.yml', 'docker-compose.scale.yml'], { JWT_SECRET: SECRET });
    const services = Object.entries(compose.services).filter(([, s]) => s.image?.startsWith('roomcast')) as [string, ComposeService][];
    expect(services.map(([n]) => n).sort()).toEqual(['hub', 'hub-2', 'hub-3']);
    for (const [name, svc] of services) {
      const env: Record<string, string> = {
        ...environmentOf(svc),
        // what cannot be the same here as in compose: the address of Redis, a private key
        // prefix, a port each, and short intervals so the test is quick
        REDIS_URL,
        REDIS_PREFIX: PREFIX,
        HEARTBEAT_MS: String(HEARTBEAT_MS),
        RETRY_MS: String(RETRY_MS),
        LOG_LEVEL: 'warn',
      };
      const hub = await startHub(env, dir);
      hubs.push(hub);
      nodeIds.push(env.NODE_ID!);
      void name;
    }

    const port = await freePort();
    nginxUrl = `http://127.0.0.1:${port}`;
    const conf = nginxConfForTest(
      readRepoFile('deploy/nginx/nginx.conf'),
      Object.fromEntries(services.map(([name], i) => [name, `127.0.0.1:${hubs[i]!.port}`])),
      `127.0.0.1:${port}`,
    );
    const confPath = join(dir, 'nginx.conf');
    writeFileSync(confPath, conf);
    const args = ['-p', `${dir}/`, '-c', confPath, '-e', 'stderr', '-g', `daemon off; pid ${join(dir, 'nginx.pid')};`];
    const check = startChild(NGINX, ['-t', ...args.slice(0, -2), '-g', `pid ${join(dir, 'nginx.pid')};`], process.env, dir, join(dir, 'nginx-t.stdout'));
    const checked = await check.exited;
    expect(checked.code, check.stderr()).toBe(0);
    // stdout to a file: nginx opens /dev/stdout for its access log, which fails on a pipe's socket.
    nginx = startChild(NGINX, args, process.env, dir, join(dir, 'nginx.stdout'));
    await waitFor('nginx', async () => {
      if (nginx.proc.exitCode !== null) throw new Error(`nginx exited: ${nginx.stderr()}`);
      return (await fetch(`${nginxUrl}/nginx-health`)).ok ? true : undefined;
    });

    // Demo users, logged in through nginx (a POST through the keep-alive upstream).
    adminToken = await login(nginxUrl, 'admin');
    aliceToken = await login(nginxUrl, 'alice');
  }, 60_000);

  afterAll(async () => {
    for (const s of streams) s.close();
    for (const s of sources) s.close();
    await nginx?.kill('SIGQUIT');
    await Promise.all(hubs.map((h) => h.kill('SIGTERM')));
    // Leave Redis as we found it.
    await deletePrefix(PREFIX, REDIS_URL);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('/stats through nginx counts all three processes', async () => {
    const stats = await waitFor('three nodes in /stats', async () => {
      const res = await fetch(`${nginxUrl}/stats`, { headers: { Authorization: `Bearer ${adminToken}` } });
      const body = (await res.json()) as { nodes: { nodeId: string }[] };
      return res.ok && body.nodes.length === 3 ? body : undefined;
    });
    expect(stats.nodes.map((n) => n.nodeId).sort()).toEqual([...nodeIds].sort());
  });

  it('streams through nginx without buffering: events published to another process arrive at once', async () => {
    const viaNginx = new RawStream(`${nginxUrl}/events`, { Authorization: `Bearer ${aliceToken}` });
    streams.push(viaNginx);
    const res = await viaNginx.open();
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers['cache-control']).toMatch(/no-cache/);
    const connected = await waitFor('connected', () => viaNginx.events.find((e) => e.event === 'connected'));
    const servedBy = (JSON.parse(connected.data) as { nodeId: string }).nodeId;
    expect(nodeIds).toContain(servedBy);

    // The same events straight from the serving process, for comparison.
    const direct = new RawStream(`${hubByNode(servedBy).url}/events`, { Authorization: `Bearer ${aliceToken}` });
    streams.push(direct);
    await direct.open();
    await waitFor('connected (direct)', () => direct.events.find((e) => e.event === 'connected'));

    const publisher = liveHubOtherThan(servedBy);
    const delays: number[] = [];
    const directDelays: number[] = [];
    for (let n = 0; n < 20; n++) {
      const t0 = performance.now();
      const r = await postJson(`${publisher.url}/broadcast`, { type: 'latency-probe', data: { n } }, adminToken);
      expect(r.status).toBe(202);
      const id = (r.body as { id: string }).id;
      const got = await waitFor(`event ${n} through nginx`, () => viaNginx.events.find((e) => e.id === id), 5000, 1);
      const gotDirect = await waitFor(`event ${n} direct`, () => direct.events.find((e) => e.id === id), 5000, 1);
      delays.push(got.at - t0);
      directDelays.push(gotDirect.at - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
    console.log(
      `[nginx] publish to ${publisher.url} -> stream via nginx (served by ${servedBy}): ` +
      `median ${median(delays).toFixed(1)} ms, max ${Math.max(...delays).toFixed(1)} ms; ` +
      `same stream straight from the hub: median ${median(directDelays).toFixed(1)} ms, max ${Math.max(...directDelays).toFixed(1)} ms (20 events)`,
    );
    // A buffering proxy holds small events until kilobytes accumulate or the stream ends; anything under 2 s is not that.
    expect(Math.max(...delays)).toBeLessThan(2000);
  });

  it('a client whose hub is killed reconnects through nginx and resumes with Last-Event-ID: nothing lost, nothing twice', async () => {
    const attempts: { lastEventId: string | null; status: number }[] = [];
    const received: { type: string; id: string | null; data: Record<string, unknown> }[] = [];
    const es = new EventSource(`${nginxUrl}/events`, {
      fetch: async (input, init) => {
        const res = await fetch(input, { ...init, headers: { ...init.headers, Authorization: `Bearer ${aliceToken}` } });
        attempts.push({ lastEventId: init.headers['Last-Event-ID'] ?? null, status: res.status });
        return res;
      },
    });
    sources.push(es);
    for (const type of ['connected', 'history-gap', 'probe', 'time']) {
      es.addEventListener(type, (e) => {
        received.push({ type, id: e.lastEventId || null, data: JSON.parse(e.data) as Record<string, unknown> });
      });
    }
    let reconnectedAt = 0;
    const connectedCount = () => received.filter((r) => r.type === 'connected').length;
    // (runs after the recording listener above, so the second `connected` is already counted)
    es.addEventListener('connected', () => { if (reconnectedAt === 0 && connectedCount() === 2) reconnectedAt = performance.now(); });
    await waitFor('first connection', () => connectedCount() === 1);
    const first = received.find((r) => r.type === 'connected')!.data as { nodeId: string };
    const victim = hubByNode(first.nodeId);

    const publish = async (n: number) => {
      const r = await postJson(`${liveHubOtherThan(first.nodeId).url}/broadcast`, { type: 'probe', data: { n } }, adminToken);
      expect(r.status).toBe(202);
      return (r.body as { id: string }).id;
    };
    const before = [await publish(1), await publish(2), await publish(3)];
    await waitFor('events before the kill', () => before.every((id) => received.some((r) => r.id === id)));
    const lastBeforeKill = [...received].reverse().find((r) => r.id !== null)!.id;

    victim.proc.kill('SIGKILL');
    await victim.exited;
    killedAt = performance.now();
    // Published while the client is away (it waits RETRY_MS before reconnecting).
    const during = [await publish(4), await publish(5), await publish(6)];
    const duringPublishedAt = performance.now();
    await waitFor('reconnected', () => connectedCount() === 2, 10_000);
    // They were all in history before the client came back, so they reached it by replay after Last-Event-ID.
    expect(duringPublishedAt).toBeLessThan(reconnectedAt);
    const after = [await publish(7)];
    await waitFor('events after the reconnect', () => [...during, ...after].every((id) => received.some((r) => r.id === id)), 10_000);
    es.close();

    const second = received.filter((r) => r.type === 'connected')[1]!.data as { nodeId: string };
    expect(second.nodeId).not.toBe(first.nodeId);
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(attempts[0]).toEqual({ lastEventId: null, status: 200 });
    // The reconnect carried the last id the client had seen, and it was accepted.
    const resumed = attempts.find((a) => a.lastEventId !== null)!;
    expect(resumed).toEqual({ lastEventId: lastBeforeKill, status: 200 });
    expect(received.some((r) => r.type === 'history-gap')).toBe(false);

    const probes = received.filter((r) => r.type === 'probe').map((r) => (r.data as { data: { n: number } }).data.n);
    expect(probes).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const ids = received.filter((r) => r.id !== null).map((r) => r.id!);
    expect(new Set(ids).size, 'no event twice').toBe(ids.length);
    for (let i = 1; i < ids.length; i++) {
      expect(idBefore(ids[i - 1]!, ids[i]!), `ids increase: ${ids[i - 1]} then ${ids[i]}`).toBe(true);
    }
    console.log(
      `[nginx] killed ${first.nodeId} (SIGKILL); probes 4-6 published within ${(duringPublishedAt - killedAt).toFixed(0)} ms; ` +
      `client reconnected through nginx to ${second.nodeId} ${(reconnectedAt - killedAt).toFixed(0)} ms after the kill with Last-Event-ID ${lastBeforeKill}; probes received: ${probes.join(',')}`,
    );
  }, 30_000);

  it('/stats through nginx drops the killed process within three heartbeats, and nginx routes around it', async () => {
    const alive = hubs.filter((h) => h.proc.exitCode === null && h.proc.signalCode === null);
    expect(alive.length).toBe(2);
    expect(killedAt).toBeGreaterThan(0);
    const stats = await waitFor('two nodes in /stats', async () => {
      const res = await fetch(`${nginxUrl}/stats`, { headers: { Authorization: `Bearer ${adminToken}` } });
      const body = (await res.json()) as { nodes: { nodeId: string }[] };
      return res.ok && body.nodes.length === 2 ? body : undefined;
    }, 3 * HEARTBEAT_MS + 2000);
    const sinceKill = performance.now() - killedAt;
    console.log(`[nginx] /stats through nginx shows ${stats.nodes.length} nodes ${sinceKill.toFixed(0)} ms after the SIGKILL (HEARTBEAT_MS=${HEARTBEAT_MS})`);
    // The contract: gone within three heartbeat intervals (the wait above allows a margin for a loaded machine).
    expect(sinceKill).toBeLessThan(3 * HEARTBEAT_MS + 2000);
    expect(stats.nodes.map((n) => n.nodeId).sort()).toEqual(alive.map((h) => nodeIds[hubs.indexOf(h)]!).sort());
    // Every request through nginx still succeeds with one upstream dead.
    for (let i = 0; i < 6; i++) expect((await fetch(`${nginxUrl}/health`)).status).toBe(200);
  });

  it('a graceful restart (SIGTERM, as docker stop sends): `shutdown` event, reconnect through nginx, resume', async () => {
    const received: { type: string; id: string | null; data: Record<string, unknown> }[] = [];
    const lastIds: (string | null)[] = [];
    const es = new EventSource(`${nginxUrl}/events`, {
      fetch: (input, init) => {
        lastIds.push(init.headers['Last-Event-ID'] ?? null);
        return fetch(input, { ...init, headers: { ...init.headers, Authorization: `Bearer ${aliceToken}` } });
      },
    });
    sources.push(es);
    for (const type of ['connected', 'shutdown', 'history-gap', 'probe2']) {
      es.addEventListener(type, (e) => {
        received.push({ type, id: e.lastEventId || null, data: JSON.parse(e.data) as Record<string, unknown> });
      });
    }
    const connected = () => received.filter((r) => r.type === 'connected');
    await waitFor('connected', () => connected().length === 1);
    const servedBy = (connected()[0]!.data as { nodeId: string }).nodeId;
    const stopping = hubByNode(servedBy);
    const other = liveHubOtherThan(servedBy);
    const publish = async (n: number) => {
      const r = await postJson(`${other.url}/broadcast`, { type: 'probe2', data: { n } }, adminToken);
      expect(r.status).toBe(202);
      return (r.body as { id: string }).id;
    };
    const first = await publish(1);
    await waitFor('probe 1', () => received.some((r) => r.id === first));

    stopping.proc.kill('SIGTERM');
    expect((await stopping.exited).code).toBe(0);
    await publish(2);
    await waitFor('reconnected', () => connected().length === 2, 10_000);
    await publish(3);
    await waitFor('probes 2 and 3', () => received.filter((r) => r.type === 'probe2').length === 3, 10_000);
    es.close();

    const shutdown = received.find((r) => r.type === 'shutdown');
    const retryMs = (shutdown?.data as { retryMs: number }).retryMs;
    expect(retryMs).toBeGreaterThanOrEqual(RETRY_MS);
    expect(retryMs).toBeLessThanOrEqual(2 * RETRY_MS);
    expect((connected()[1]!.data as { nodeId: string }).nodeId).toBe(nodeIds[hubs.indexOf(other)]);
    expect(lastIds.at(-1)).toBe(first);
    expect(received.filter((r) => r.type === 'probe2').map((r) => (r.data as { data: { n: number } }).data.n)).toEqual([1, 2, 3]);
    expect(received.some((r) => r.type === 'history-gap')).toBe(false);
  }, 30_000);

  it('does not expose the per-process /metrics through nginx', async () => {
    expect((await fetch(`${nginxUrl}/metrics`)).status).toBe(404);
    expect((await fetch(`${hubs.find((h) => h.proc.exitCode === null && h.proc.signalCode === null)!.url}/metrics`)).status).toBe(200);
  });

  it('keeps the access_token query parameter out of the nginx access log', async () => {
    const res = await fetch(`${nginxUrl}/events/history?limit=1&access_token=${encodeURIComponent(aliceToken)}`);
    expect(res.status).toBe(200);
    await waitFor('the access log line', () => nginx.stdout().includes('/events/history'));
    expect(nginx.stdout()).not.toContain(aliceToken);
    expect(nginx.stdout()).not.toContain('access_token');
  });
});
