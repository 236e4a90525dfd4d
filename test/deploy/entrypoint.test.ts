// Runs the image's process the way the Dockerfile declares it, without Docker:
// ENTRYPOINT + CMD (tini -> node dist/main.js) with the runtime stage's ENV,
// the HEALTHCHECK command, and the STOPSIGNAL, which must end in the graceful
// shutdown (streams get `event: shutdown`, exit 0) — what `docker stop` does.
// Needs Debian's tini (/usr/bin/tini), Redis on 127.0.0.1:6379 and `npm run build`.
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { SHUTDOWN_TIMEOUT_MS } from '../../src/config.js';
import { login } from '../support/http.js';
import { freePort } from '../support/net.js';
import { ROOT, assertBuilt, cleanEnv, startChild, stopAll, type Child } from '../support/processes.js';
import { REDIS_URL, keysUnder, newPrefix } from '../support/redis-keys.js';
import { mustStream, type RawStream } from '../support/sse-client.js';
import { waitFor, within } from '../support/wait.js';
import { envOf, parseDockerfile, readRepoFile } from './deployfiles.js';

const df = parseDockerfile(readRepoFile('Dockerfile'));
const runtime = df.stages.at(-1)!;
const last = (kw: string) => runtime.instructions.filter((i) => i.keyword === kw).at(-1)!;
const ENTRYPOINT = last('ENTRYPOINT').exec!;
const CMD = last('CMD').exec!;
const STOPSIGNAL = last('STOPSIGNAL').args as NodeJS.Signals;
const HEALTHCHECK = JSON.parse(/\bCMD\s+(\[.*\])\s*$/.exec(last('HEALTHCHECK').args)![1]!) as string[];
const IMAGE_ENV = Object.fromEntries(runtime.instructions.filter((i) => i.keyword === 'ENV').flatMap((i) => Object.entries(envOf(i))));

/**
 * A stand-in for the image's WORKDIR /app: what the runtime stage copies (package.json,
 * node_modules, dist, public, deploy/docker), linked from the repository, and no .env.
 */
function appDir(): string {
  const app = mkdtempSync(join(tmpdir(), 'roomcast-app-'));
  copyFileSync(join(ROOT, 'package.json'), join(app, 'package.json'));
  for (const d of ['node_modules', 'dist', 'public']) symlinkSync(join(ROOT, d), join(app, d));
  mkdirSync(join(app, 'deploy'));
  symlinkSync(join(ROOT, 'deploy', 'docker'), join(app, 'deploy', 'docker'));
  return app;
}

/** Bounds the graceful stop generously (the process force-exits after SHUTDOWN_TIMEOUT_MS); its speed is for the bench. */
const STOP_MS = SHUTDOWN_TIMEOUT_MS + 5000;

describe('the image entrypoint, run as the Dockerfile declares it', () => {
  const app = appDir();
  afterAll(async () => {
    await stopAll();
    rmSync(app, { recursive: true, force: true });
  });

  async function startImageProcess(extra: Record<string, string>): Promise<{ child: Child; port: number; url: string }> {
    assertBuilt();
    const port = await freePort();
    const env = cleanEnv({ ...IMAGE_ENV, PORT: String(port), JWT_SECRET: `entrypoint-${randomBytes(24).toString('hex')}`, ...extra });
    const child = startChild(ENTRYPOINT[0]!, [...ENTRYPOINT.slice(1), ...CMD], { env, cwd: app });
    const url = `http://127.0.0.1:${port}`;
    await waitFor('/health', async () => {
      if (!child.alive()) throw new Error(`exited ${child.proc.exitCode}: ${child.stderr()}`);
      return (await fetch(`${url}/health`)).ok;
    }, 15_000);
    return { child, port, url };
  }

  /**
   * Sends the image's STOPSIGNAL to the entrypoint (tini) and checks the graceful path ran:
   * the hub logged its shutdown for that signal, the process exited 0, and every stream was
   * ended by the server with `event: shutdown` as its last frame.
   */
  async function stopAndCheck(child: Child, streams: RawStream[], nodes: string[] = []): Promise<void> {
    child.proc.kill(STOPSIGNAL);
    const exit = await within('the graceful exit', child.exited, STOP_MS);
    expect(exit, child.stderr()).toEqual({ code: 0, signal: null });
    const logs = child.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg?: string; reason?: string; node?: string });
    expect(logs.filter((l) => l.msg === 'shutting down').map((l) => l.reason)).toContain(STOPSIGNAL);
    expect(logs.some((l) => l.msg === 'shutdown complete')).toBe(true);
    // every worker went through the graceful path itself
    for (const n of nodes) expect(logs.some((l) => l.node === n && l.msg === 'shutdown complete'), `${n} shut down gracefully`).toBe(true);
    // The contract: every stream gets `event: shutdown` as its last frame.
    for (const s of streams) {
      await s.ended(5000);
      expect(s.dataOf('shutdown')).toEqual([{ reason: expect.any(String), retryMs: expect.any(Number) }]);
      expect(s.events.at(-1)!.event).toBe('shutdown');
    }
  }

  it('declares tini, the start command and SIGTERM', () => {
    expect(ENTRYPOINT).toEqual(['/usr/bin/tini', '--']);
    expect(CMD).toEqual(['node', 'dist/main.js']);
    expect(STOPSIGNAL).toBe('SIGTERM');
  });

  it('one process: healthy by the HEALTHCHECK command, and the stop signal to tini ends streams with `shutdown` and exits 0', async () => {
    const { child, port, url } = await startImageProcess({ DEMO: 'true', SIMULATORS: 'none' });
    const hc = startChild(HEALTHCHECK[0]!, HEALTHCHECK.slice(1), { env: cleanEnv({ ...IMAGE_ENV, PORT: String(port) }), cwd: app });
    expect((await within('the health check', hc.exited, 10_000)).code, hc.stderr()).toBe(0);

    const token = await login(url, 'alice');
    const stream = await mustStream(url, '/events', { authorization: `Bearer ${token}` });
    await stopAndCheck(child, [stream]);
  });

  it('WORKERS=2 on Redis: the stop signal reaches both workers through tini and the primary', async () => {
    const prefix = newPrefix('entrypoint');
    const { child, url } = await startImageProcess({ DEMO: 'true', SIMULATORS: 'none', WORKERS: '2', REDIS_URL, REDIS_PREFIX: prefix });
    const token = await login(url, 'alice');
    // Both workers listening first (a slow start leaves every connection to the first one):
    // /health names the worker that answered, and each request is a new connection.
    const healthy = new Set<string>();
    await waitFor('both workers answering', async () => {
      const r = await fetch(`${url}/health`, { headers: { connection: 'close' } });
      healthy.add(((await r.json()) as { nodeId: string }).nodeId);
      return healthy.size === 2 || undefined;
    }, 20_000, 50);
    // Streams until both workers serve one (the primary spreads connections over them).
    const streams: RawStream[] = [];
    const nodes = new Set<string>();
    await waitFor('streams on both workers', async () => {
      const s = await mustStream(url, '/events', { authorization: `Bearer ${token}` });
      streams.push(s);
      nodes.add(s.dataOf<{ nodeId: string }>('connected')[0]!.nodeId);
      return nodes.size === 2;
    }, 15_000, 0);
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const keysNow = (): Promise<string[]> => keysUnder(redis, prefix);
    const ofNodes = (keys: string[]) => keys.filter((k) => [...nodes].some((n) => k.includes(n)));
    try {
      expect(ofNodes(await keysNow()).length, 'the workers registered themselves in Redis').toBeGreaterThan(0);
      await stopAndCheck(child, streams, [...nodes]);
      const left = await keysNow();
      // Leaving Redis clean: nothing of the stopped nodes remains (login rate-limit counters expire by themselves).
      expect(ofNodes(left), 'per-node keys left behind').toEqual([]);
      if (left.length > 0) await redis.del(...left);
    } finally {
      redis.disconnect();
    }
  }, 40_000);
});
