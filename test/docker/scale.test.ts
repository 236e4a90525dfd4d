// docker-compose.yml + docker-compose.scale.yml run for real: three hub
// containers on one Redis behind the nginx container with deploy/nginx/nginx.conf,
// on the private engine of test/docker/run.sh. The client speaks only to nginx's
// published port (127.0.0.1 in the v1 copy of the file); which hub served what is
// read from the `connected` events and nginx's own access log.
import { randomBytes } from 'node:crypto';
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCompose } from '../deploy/deployfiles.js';
import { api, login, nodesInStats } from '../support/http.js';
import { mustStream, type RawStream } from '../support/sse-client.js';
import { waitFor } from '../support/wait.js';
import { buildImage, ComposeProject, containerInfo, containerLogs, docker, requireEngine } from './docker.js';

const FILES = ['docker-compose.yml', 'docker-compose.scale.yml'];
const SECRET = randomBytes(48).toString('base64');
const IMAGE = loadCompose(['docker-compose.yml'], {}).services.hub!.image!;
const HUB_SERVICES = Object.entries(loadCompose(FILES, { JWT_SECRET: SECRET }).services)
  .filter(([, s]) => s.image === IMAGE)
  .map(([name]) => name);

describe('the scaled compose files in containers: three hubs on Redis behind nginx', () => {
  let project: ComposeProject | undefined;
  let nginxUrl: string;
  let adminToken: string;
  let aliceToken: string;
  /** NODE_ID of each hub container, by its address on the compose network and by service. */
  const nodeByIp = new Map<string, string>();
  const serviceByNode = new Map<string, string>();
  const streams: RawStream[] = [];
  const sources: EventSource[] = [];

  const publish = async (type: string, n: number): Promise<string> => {
    const r = await api(nginxUrl, 'POST', '/broadcast', { token: adminToken, body: { type, data: { n } } });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    return (r.body as { id: string }).id;
  };

  beforeAll(async () => {
    requireEngine();
    expect(HUB_SERVICES.sort()).toEqual(['hub', 'hub-2', 'hub-3']);
    await buildImage(IMAGE);
    project = await ComposeProject.create(FILES, { JWT_SECRET: SECRET });
    // nginx starts only once the three hubs are healthy (depends_on), so this waits for all.
    await project.up();
    await project.waitHealthy('nginx', 120_000);
    nginxUrl = project.url('nginx', 8080);
    for (const service of HUB_SERVICES) {
      const { env, ip } = await containerInfo(await project.containerId(service));
      nodeByIp.set(ip, env.NODE_ID!);
      serviceByNode.set(env.NODE_ID!, service);
    }
    adminToken = await login(nginxUrl, 'admin');
    aliceToken = await login(nginxUrl, 'alice');
  }, 20 * 60_000);

  afterAll(async () => {
    for (const s of streams) s.close();
    for (const s of sources) s.close();
    await project?.down();
  }, 120_000);

  it('/stats through nginx lists the three hubs', async () => {
    expect(await nodesInStats(nginxUrl, adminToken, 3, 30_000)).toEqual(['hub-1', 'hub-2', 'hub-3']);
  });

  it('a stream through nginx receives events published through nginx to the other hubs', async () => {
    const stream = await mustStream(nginxUrl, '/events', { Authorization: `Bearer ${aliceToken}` });
    streams.push(stream);
    const servedBy = (await stream.next<{ nodeId: string }>('connected')).nodeId;
    expect(serviceByNode.has(servedBy)).toBe(true);
    const ids: string[] = [];
    for (let n = 1; n <= 3; n++) ids.push(await publish('scale-probe', n));
    for (const id of ids) await stream.next<{ id: string }>('scale-probe', 10_000, (e) => e.id === id);
    stream.close();

    // nginx's access log names the hub that took each publish (`upstream=<address>`).
    const nginxId = await project!.containerId('nginx');
    const lines = await waitFor('three publishes in the nginx log', async () => {
      const found = (await containerLogs(nginxId)).split('\n').filter((l) => l.includes('"POST /broadcast '));
      return found.length >= 3 ? found : undefined;
    });
    const takenBy = lines.map((l) => nodeByIp.get(/upstream=([\d.]+):3000/.exec(l)?.[1] ?? '') ?? `unknown (${l})`);
    console.log(`[docker] stream through nginx served by ${servedBy}; publishes through nginx taken by ${takenBy.join(', ')}`);
    expect(takenBy).toHaveLength(3);
    for (const node of takenBy) {
      expect(serviceByNode.has(node), node).toBe(true);
      expect(node, 'least_conn sends the publishes to the hubs without the stream').not.toBe(servedBy);
    }
  });

  it('killing the container that holds a stream: the client resumes through nginx with nothing lost', async () => {
    const attempts: (string | null)[] = [];
    const received: { type: string; id: string | null; data: Record<string, unknown> }[] = [];
    const es = new EventSource(`${nginxUrl}/events`, {
      fetch: (input, init) => {
        attempts.push(init.headers['Last-Event-ID'] ?? null);
        return fetch(input, { ...init, headers: { ...init.headers, Authorization: `Bearer ${aliceToken}` } });
      },
    });
    sources.push(es);
    for (const type of ['connected', 'history-gap', 'kill-probe']) {
      es.addEventListener(type, (e) => {
        received.push({ type, id: e.lastEventId || null, data: JSON.parse(e.data) as Record<string, unknown> });
      });
    }
    const connected = () => received.filter((r) => r.type === 'connected').map((r) => r.data as { nodeId: string });
    await waitFor('connected through nginx', () => connected().length === 1, 10_000);
    const victim = connected()[0]!.nodeId;
    const victimId = await project!.containerId(serviceByNode.get(victim)!);

    const before = [await publish('kill-probe', 1), await publish('kill-probe', 2), await publish('kill-probe', 3)];
    await waitFor('events before the kill', () => before.every((id) => received.some((r) => r.id === id)));
    await docker('kill', victimId);
    // Published while the client is away: it waits `retry:` (RETRY_MS) before it reconnects.
    const during = [await publish('kill-probe', 4), await publish('kill-probe', 5), await publish('kill-probe', 6)];
    await waitFor('the client back through nginx', () => connected().length === 2, 30_000, 100);
    const after = await publish('kill-probe', 7);
    await waitFor('every event', () => [...during, after].every((id) => received.some((r) => r.id === id)), 15_000);
    es.close();

    const resumedOn = connected()[1]!.nodeId;
    console.log(`[docker] killed ${victim}'s container; the client resumed through nginx on ${resumedOn} with Last-Event-ID ${attempts.at(-1)}`);
    expect(resumedOn).not.toBe(victim);
    // The reconnect named the last event the client had, and the hub replayed what it missed.
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(attempts[0]).toBeNull();
    for (const lastEventId of attempts.slice(1)) expect(lastEventId).toBe(before.at(-1));
    expect(received.some((r) => r.type === 'history-gap')).toBe(false);
    const probes = received.filter((r) => r.type === 'kill-probe');
    expect(probes.map((r) => (r.data as { data: { n: number } }).data.n)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(new Set(probes.map((r) => r.id)).size, 'no event twice').toBe(probes.length);
  }, 90_000);
});
