import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import jwt from 'jsonwebtoken';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import type { Role } from '../../src/core/principal.js';
import { startHub, type RunningHub } from '../../src/server.js';
import { mustStream, type RawStream } from './sse-client.js';
import { freePort } from './wait.js';

export { freePort } from './wait.js';

/** The secret every test hub signs with. */
export const TEST_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

/** A hub running in this test process, reached over real sockets. */
export interface TestHub {
  url: string;
  running: RunningHub;
  /** Mints a token for a user. */
  token(sub: string, role?: Role, claims?: Record<string, unknown>, ttlSec?: number): string;
  /** Fetches a path with a bearer token. */
  call(path: string, init?: RequestInit & { token?: string; json?: unknown }): Promise<Response>;
  /** Opens a stream for a user and waits for `connected`. */
  stream(path: string, token: string, headers?: Record<string, string>): Promise<RawStream>;
  close(): Promise<void>;
}

/** Mints an HS256 token with the test secret. */
export function mint(sub: string, role: Role = 'user', claims: Record<string, unknown> = {}, ttlSec = 3600, secret = TEST_SECRET): string {
  return jwt.sign({ role, ...claims }, secret, { algorithm: 'HS256', subject: sub, expiresIn: ttlSec });
}

/** Starts a hub in-process on a free port with the given environment on top of the test defaults. */
export async function startTestHub(env: Record<string, string> = {}): Promise<TestHub> {
  const config = loadConfig({
    PORT: '0', HOST: '127.0.0.1', JWT_SECRET: TEST_SECRET, LOG_LEVEL: 'silent', SIMULATORS: 'none', ...env,
  });
  const running = await startHub(config, { logger: pino({ level: 'silent' }) });
  const url = `http://127.0.0.1:${running.port}`;
  const open: RawStream[] = [];
  return {
    url,
    running,
    token: (sub, role = 'user', claims = {}, ttlSec = 3600) => mint(sub, role, claims, ttlSec),
    call: (path, init = {}) => {
      const headers = new Headers(init.headers);
      if (init.token !== undefined) headers.set('authorization', `Bearer ${init.token}`);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json');
        body = JSON.stringify(init.json);
      }
      return fetch(new URL(path, url), { ...init, headers, body, signal: AbortSignal.timeout(10_000) });
    },
    stream: async (path, token, headers = {}) => {
      const s = await mustStream(url, path, { authorization: `Bearer ${token}`, ...headers });
      open.push(s);
      return s;
    },
    close: async () => {
      for (const s of open) s.close();
      await running.shutdown('test finished');
    },
  };
}

/** A hub in a child process (`node dist/main.js`), for signals and start-up checks. */
export interface ChildHub {
  proc: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

/** Runs `node dist/main.js` with an environment; with `waitReady`, resolves once /health answers. */
export async function spawnHub(env: Record<string, string>, waitReady = true): Promise<ChildHub> {
  const port = env.PORT ?? String(await freePort());
  const proc = spawn(process.execPath, ['dist/main.js'], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', LOG_LEVEL: 'warn', SIMULATORS: 'none', ...env, PORT: port },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout?.setEncoding('utf8').on('data', (c: string) => (out += c));
  proc.stderr?.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = once(proc, 'exit').then(([code]) => code as number | null);
  const url = `http://127.0.0.1:${port}`;
  const child: ChildHub = { proc, url, stdout: () => out, stderr: () => err, exited, kill: (s = 'SIGKILL') => { proc.kill(s); } };
  if (waitReady) {
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`hub exited early (${proc.exitCode}): ${err}`);
      try {
        const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
        if (r.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`hub did not become healthy: ${err}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return child;
}
