// `docker compose up --build` as the README tells a new user, run for real: the
// repository's Dockerfile built and docker-compose.yml (Redis + one hub in demo
// mode) started on the private engine of test/docker/run.sh, with local
// stand-ins for the public base images (test/docker/standins/). The hub is
// reached on its published port, bound to 127.0.0.1 by the v1 copy of the file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCompose } from '../deploy/deployfiles.js';
import { api, login } from '../support/http.js';
import { mustStream, type RawStream } from '../support/sse-client.js';
import { buildImage, ComposeProject, containerLogs, containerState, docker, requireEngine } from './docker.js';

const IMAGE = loadCompose(['docker-compose.yml'], {}).services.hub!.image!;

describe('docker-compose.yml in containers: Redis and one hub in demo mode', () => {
  let project: ComposeProject | undefined;
  let hubUrl: string;
  let stream: RawStream | undefined;

  beforeAll(async () => {
    requireEngine();
    await buildImage(IMAGE);
    project = await ComposeProject.create(['docker-compose.yml']);
    await project.up();
    hubUrl = project.url('hub', 3000);
  }, 20 * 60_000);

  afterAll(async () => {
    stream?.close();
    await project?.down();
  }, 120_000);

  it('builds the Dockerfile into an image that runs node under tini as user node, with a health check', async () => {
    const config = JSON.parse(await docker('image', 'inspect', '-f', '{{json .Config}}', IMAGE)) as {
      User: string; Entrypoint: string[]; Cmd: string[]; StopSignal: string; ExposedPorts: Record<string, unknown>;
      Healthcheck: { Test: string[] };
    };
    expect(config.User).toBe('node');
    expect(config.Entrypoint).toEqual(['/usr/bin/tini', '--']);
    expect(config.Cmd).toEqual(['node', 'dist/main.js']);
    expect(config.StopSignal).toBe('SIGTERM');
    expect(Object.keys(config.ExposedPorts)).toEqual(['3000/tcp']);
    expect(config.Healthcheck.Test).toEqual(['CMD', 'node', 'deploy/docker/healthcheck.mjs', '/health']);
  });

  it('the hub becomes healthy by Docker\'s own health check and answers on its published port', async () => {
    await project!.waitHealthy('hub');
    const res = await fetch(`${hubUrl}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok' });
    // Redis is the one from the compose file, not memory.
    const adminToken = await login(hubUrl, 'admin');
    const stats = (await (await fetch(`${hubUrl}/stats`, { headers: { Authorization: `Bearer ${adminToken}` } })).json()) as { redis: string };
    expect(stats.redis).toBe('up');
  });

  it('a demo user logs in', async () => {
    const res = await api(hubUrl, 'POST', '/auth/login', { body: { username: 'alice', password: 'alice' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tokenType: 'Bearer', user: { id: 'alice', role: 'user' } });
  });

  it('a stream receives a published event and the built-in feeds', async () => {
    const aliceToken = await login(hubUrl, 'alice');
    const adminToken = await login(hubUrl, 'admin');
    stream = await mustStream(hubUrl, '/events?rooms=stocks,chat', { Authorization: `Bearer ${aliceToken}` });
    const published = await api(hubUrl, 'POST', '/broadcast', { token: adminToken, body: { type: 'compose-probe', data: { n: 1 } } });
    expect(published.status).toBe(202);
    const id = (published.body as { id: string }).id;
    const got = await stream.next<{ id: string; data: unknown; sender: string }>('compose-probe', 10_000, (e) => e.id === id);
    expect(got).toMatchObject({ data: { n: 1 }, sender: 'admin' });
    // `time` every second, `stock-update` every 2 s, `chat-message` every 4 s, all from `system`.
    for (const type of ['time', 'stock-update', 'chat-message']) {
      const feed = await stream.next<{ sender: string }>(type, 15_000);
      expect(feed.sender, type).toBe('system');
    }
  }, 60_000);

  it('docker-compose stop: the stream gets `event: shutdown`, and the container exits 0', async () => {
    const id = await project!.containerId('hub');
    await project!.compose('stop', 'hub');
    await stream!.ended(20_000);
    const shutdown = stream!.dataOf<{ reason: string; retryMs: number }>('shutdown');
    expect(shutdown).toHaveLength(1);
    expect(shutdown[0]!.retryMs).toBeGreaterThan(0);
    const state = await containerState(id);
    expect(state.Running).toBe(false);
    expect(state.OOMKilled).toBe(false);
    expect(state.ExitCode, await containerLogs(id)).toBe(0);
  }, 60_000);
});
