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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, login, nodesInStats } from '../support/http.js';
import { freePort } from '../support/net.js';
import { startChild, startHubProcess, stopAll, type Child, type HubChild } from '../support/processes.js';
import { REDIS_URL, deletePrefix, newPrefix } from '../support/redis-keys.js';
import { mustStream, type RawStream } from '../support/sse-client.js';
import { waitFor, within } from '../support/wait.js';
import { environmentOf, loadCompose, nginxConfForTest, readRepoFile, type ComposeService } from './deployfiles.js';

const NGINX = process.env.NGINX_BIN ?? '/usr/sbin/nginx';
const SECRET = `nginx-test-${randomBytes(24).toString('hex')}`;
const PREFIX = newPrefix('nginx');
const HEARTBEAT_MS = 1000;
const RETRY_MS = 1000;
/** Generous bounds: what a loaded machine needs, not what the hub promises (the bench measures that). */
const ARRIVAL_MS = 5000;
const RECONNECT_MS = 10_000;

/** Event ids in the hub's order: digit strings by value, anything else as strings. */
function idBefore(a: string, b: string): boolean {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return a.length < b.length || (a.length === b.length && a < b);
  return a < b;
}

/** A promise and the function that resolves it. */
function gate(): { opened: Promise<void>; open(): void } {
  let open = (): void => {};
  const opened = new Promise<void>((r) => { open = r; });
  return { opened, open };
}

describe('nginx with deploy/nginx/nginx.conf in front of three hubs on Redis', () => {
  let dir: string;
  let nginx: Child;
  let nginxUrl: string;
  const hubs: HubChild[] = [];
  const nodeIds: string[] = [];
  let adminToken: string;
  let aliceToken: string;
  const streams: RawStream[] = [];
  const sources: EventSource[] = [];

  const hubByNode = (nodeId: string): HubChild => hubs[nodeIds.indexOf(nodeId)]!;
  const liveHubOtherThan = (nodeId: string): HubChild => hubs.find((h, i) => nodeIds[i] !== nodeId && h.alive())!;
  const publishVia = async (hub: HubChild, type: string, n: number): Promise<string> => {
    const r = await api(hub.url, 'POST', '/broadcast', { token: adminToken, body: { type, data: { n } } });
    expect(r.status).toBe(202);
    return r.body.id as string;
  };

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
      const hub = await startHubProcess(env, { cwd: dir });
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
    const check = startChild(NGINX, ['-t', ...args.slice(0, -2), '-g', `pid ${join(dir, 'nginx.pid')};`], { env: process.env, cwd: dir, stdoutFile: join(dir, 'nginx-t.stdout') });
    const checked = await within('nginx -t', check.exited, 10_000);
    expect(checked.code, check.stderr()).toBe(0);
    // stdout to a file: nginx opens /dev/stdout for its access log, which fails on a pipe's socket.
    nginx = startChild(NGINX, args, { env: process.env, cwd: dir, stdoutFile: join(dir, 'nginx.stdout') });
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
    await stopAll();
    // Leave Redis as we found it.
    await deletePrefix(PREFIX, REDIS_URL);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('/stats through nginx counts all three processes', async () => {
    expect(await nodesInStats(nginxUrl, adminToken, 3)).toEqual([...nodeIds].sort());
  });

  it('streams through nginx without buffering: each event published to another process arrives while the stream stays open', async () => {
    const viaNginx = await mustStream(nginxUrl, '/events', { authorization: `Bearer ${aliceToken}` });
    streams.push(viaNginx);
    expect(viaNginx.res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(viaNginx.res.headers['content-encoding']).toBeUndefined();
    expect(viaNginx.res.headers['cache-control']).toMatch(/no-cache/);
    const servedBy = viaNginx.dataOf<{ nodeId: string }>('connected')[0]!.nodeId;
    expect(nodeIds).toContain(servedBy);

    // One event at a time: a proxy that buffers holds a small event back until more bytes come or the
    // stream ends, so each must arrive before the next is published. (Delays are the bench's business.)
    const publisher = liveHubOtherThan(servedBy);
    for (let n = 0; n < 20; n++) {
      const id = await publishVia(publisher, 'probe-unbuffered', n);
      await viaNginx.until(() => viaNginx.published.some((f) => f.id === id), ARRIVAL_MS, `event ${n} through nginx`);
    }
    expect(viaNginx.closed).toBe(false);
    expect(viaNginx.dataOf<{ data: { n: number } }>('probe-unbuffered').map((e) => e.data.n)).toEqual(Array.from({ length: 20 }, (_, n) => n));
  });

  it('a client whose hub is killed reconnects through nginx and resumes with Last-Event-ID: nothing lost, nothing twice', async () => {
    const attempts: { lastEventId: string | null; status: number }[] = [];
    const received: { type: string; id: string | null; data: Record<string, unknown> }[] = [];
    // The client's reconnect waits here until the test has published while it was away, so those
    // events can only reach it by replay after Last-Event-ID (whatever the machine's speed).
    const away = gate();
    const es = new EventSource(`${nginxUrl}/events`, {
      fetch: async (input, init) => {
        if (attempts.length > 0) await away.opened;
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
    const connectedCount = (): number => received.filter((r) => r.type === 'connected').length;
    await waitFor('first connection', () => connectedCount() === 1);
    const first = received.find((r) => r.type === 'connected')!.data as { nodeId: string };
    const victim = hubByNode(first.nodeId);
    const publish = (n: number): Promise<string> => publishVia(liveHubOtherThan(first.nodeId), 'probe', n);

    const before = [await publish(1), await publish(2), await publish(3)];
    await waitFor('events before the kill', () => before.every((id) => received.some((r) => r.id === id)));
    const lastBeforeKill = [...received].reverse().find((r) => r.id !== null)!.id;

    await victim.kill('SIGKILL');
    const during = [await publish(4), await publish(5), await publish(6)];
    away.open();
    await waitFor('reconnected', () => connectedCount() === 2, RECONNECT_MS);
    const after = [await publish(7)];
    await waitFor('events after the reconnect', () => [...during, ...after].every((id) => received.some((r) => r.id === id)), RECONNECT_MS);
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
  }, 30_000);

  it('/stats through nginx drops the killed process, and nginx routes around it', async () => {
    const alive = hubs.filter((h) => h.alive());
    expect(alive.length).toBe(2);
    // The contract is three heartbeats; the wait is generous so a loaded machine does not fail it.
    const nodes = await nodesInStats(nginxUrl, adminToken, 2, 10 * HEARTBEAT_MS);
    expect(nodes).toEqual(alive.map((h) => nodeIds[hubs.indexOf(h)]!).sort());
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
    const publish = (n: number): Promise<string> => publishVia(other, 'probe2', n);
    const first = await publish(1);
    await waitFor('probe 1', () => received.some((r) => r.id === first));

    stopping.proc.kill('SIGTERM');
    expect((await within('the graceful exit', stopping.exited, RECONNECT_MS)).code).toBe(0);
    await publish(2);
    await waitFor('reconnected', () => connected().length === 2, RECONNECT_MS);
    await publish(3);
    await waitFor('probes 2 and 3', () => received.filter((r) => r.type === 'probe2').length === 3, RECONNECT_MS);
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
    expect((await fetch(`${hubs.find((h) => h.alive())!.url}/metrics`)).status).toBe(200);
  });

  it('keeps the access_token query parameter out of the nginx access log', async () => {
    const res = await fetch(`${nginxUrl}/events/history?limit=1&access_token=${encodeURIComponent(aliceToken)}`);
    expect(res.status).toBe(200);
    await waitFor('the access log line', () => nginx.stdout().includes('/events/history'));
    expect(nginx.stdout()).not.toContain(aliceToken);
    expect(nginx.stdout()).not.toContain('access_token');
  });
});
