// Runs the examples against a real hub (`node dist/main.js`, built by
// `npm run build`): the fetch-only publisher, the eventsource subscriber with a
// header token, and the container health-check script.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login } from '../support/http.js';
import { freePort } from '../support/net.js';
import { ROOT, cleanEnv, startChild, startHubProcess, stopAll, type Child, type HubChild } from '../support/processes.js';
import { TEST_SECRET } from '../support/tokens.js';
import { waitFor, within } from '../support/wait.js';

const PUBLISHER = join(ROOT, 'examples', 'publisher.mjs');
const SUBSCRIBER = join(ROOT, 'examples', 'node-subscriber.mjs');
const HEALTHCHECK = join(ROOT, 'deploy', 'docker', 'healthcheck.mjs');

interface Line { event: string; id: string | null; data: Record<string, unknown> }

function lines(child: Child): Line[] {
  return child.stdout().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
}

describe('examples against a running hub', () => {
  let dir: string;
  let hub: HubChild;
  let aliceToken: string;
  /** Runs an example script against the hub. */
  function run(script: string, args: string[], env: Record<string, string> = {}): Child {
    return startChild(process.execPath, [script, ...args], { env: cleanEnv({ ROOMCAST_URL: hub.url, ...env }) });
  }
  /** A script's exit, awaited with a bound. */
  const exit = (c: Child): Child['exited'] => within('the script to exit', c.exited, 15_000);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'roomcast-examples-'));
    // Demo users (alice, admin) without the feeds; a fixed secret.
    hub = await startHubProcess({ DEMO: 'true', JWT_SECRET: TEST_SECRET }, { cwd: dir });
    aliceToken = await login(hub.url, 'alice');
  });

  afterAll(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('node-subscriber.mjs (header token) receives what publisher.mjs (fetch only) publishes', async () => {
    const sub = run(SUBSCRIBER, ['--rooms', 'news', '--types', 'headline', '--count', '1'], { ROOMCAST_TOKEN: aliceToken });
    await waitFor('the subscriber to connect', () => lines(sub).some((l) => l.event === 'connected'));
    const connected = lines(sub).find((l) => l.event === 'connected')!;
    expect(connected.data.userId).toBe('alice');
    expect(connected.data.rooms).toContain('news');

    const pub = run(PUBLISHER, ['--username', 'admin', '--password', 'admin', '--type', 'headline', '--room', 'news', '--data', '{"title":"roomcast ships"}']);
    const pubExit = await exit(pub);
    expect(pubExit.code, pub.stderr()).toBe(0);
    const answer = JSON.parse(pub.stdout()) as { id: string; recipients: number };
    expect(answer.recipients).toBe(1);

    const subExit = await exit(sub);
    expect(subExit.code, sub.stderr()).toBe(0);
    const got = lines(sub).find((l) => l.event === 'headline')!;
    expect(got.id).toBe(answer.id);
    expect(got.data).toMatchObject({ id: answer.id, type: 'headline', room: 'news', sender: 'admin', data: { title: 'roomcast ships' } });
  });

  it('node-subscriber.mjs resumes from --last-event-id', async () => {
    const adminToken = await login(hub.url, 'admin');
    const ids: string[] = [];
    for (const n of [1, 2]) {
      const pub = run(PUBLISHER, ['--type', 'tick', '--data', String(n)], { ROOMCAST_TOKEN: adminToken });
      expect((await exit(pub)).code, pub.stderr()).toBe(0);
      ids.push((JSON.parse(pub.stdout()) as { id: string }).id);
    }
    const sub = run(SUBSCRIBER, ['--types', 'tick', '--count', '1', '--last-event-id', ids[0]!], { ROOMCAST_TOKEN: aliceToken });
    expect((await exit(sub)).code, sub.stderr()).toBe(0);
    const replayed = lines(sub).filter((l) => l.event === 'tick');
    expect(replayed.map((l) => l.id)).toEqual([ids[1]]);
    expect(replayed[0]!.data.data).toBe(2);
  });

  it('publisher.mjs exits 1 with the hub error when the token may not publish', async () => {
    const pub = run(PUBLISHER, ['--type', 'headline', '--data', '{}'], { ROOMCAST_TOKEN: aliceToken });
    expect((await exit(pub)).code).toBe(1);
    expect(pub.stderr()).toMatch(/"code":"forbidden"/);
    expect(pub.stderr()).toMatch(/publish answered 403/);
  });

  it('node-subscriber.mjs exits 1 when the hub refuses the token', async () => {
    const sub = run(SUBSCRIBER, ['--count', '1'], { ROOMCAST_TOKEN: 'not-a-token' });
    expect((await exit(sub)).code).toBe(1);
    expect(sub.stderr()).toMatch(/401/);
  });

  it('the image health check script passes against /health and fails on a closed port', async () => {
    const ok = startChild(process.execPath, [HEALTHCHECK, '/health'], { env: cleanEnv({ PORT: String(hub.port) }) });
    expect((await exit(ok)).code, ok.stderr()).toBe(0);
    const closed = startChild(process.execPath, [HEALTHCHECK, '/health'], { env: cleanEnv({ PORT: String(await freePort()) }) });
    expect((await exit(closed)).code).toBe(1);
    expect(closed.stderr()).toMatch(/failed/);
  });
});
