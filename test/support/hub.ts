// A hub running inside the test process, reached over real sockets (for signals and start-up
// checks, processes.ts starts hub processes instead).
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import type { Role } from '../../src/core/principal.js';
import { startHub, type RunningHub } from '../../src/server.js';
import { mustStream, type RawStream } from './sse-client.js';
import { TEST_SECRET, mint } from './tokens.js';

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
  /** Publishes an event as a publisher and answers its id (for markers: see throughMarker). */
  publish(json: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

/** Starts a hub in-process on a free port with the given environment on top of the test defaults. */
export async function startTestHub(env: Record<string, string> = {}): Promise<TestHub> {
  const config = loadConfig({
    PORT: '0', HOST: '127.0.0.1', JWT_SECRET: TEST_SECRET, LOG_LEVEL: 'silent', SIMULATORS: 'none', ...env,
  });
  const running = await startHub(config, { logger: pino({ level: 'silent' }) });
  const url = `http://127.0.0.1:${running.port}`;
  const open: RawStream[] = [];
  const call: TestHub['call'] = (path, init = {}) => {
    const headers = new Headers(init.headers);
    if (init.token !== undefined) headers.set('authorization', `Bearer ${init.token}`);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify(init.json);
    }
    return fetch(new URL(path, url), { ...init, headers, body, signal: AbortSignal.timeout(10_000) });
  };
  return {
    url,
    running,
    call,
    token: (sub, role = 'user', claims = {}, ttlSec = 3600) => mint(sub, role, claims, ttlSec),
    stream: async (path, token, headers = {}) => {
      const s = await mustStream(url, path, { authorization: `Bearer ${token}`, ...headers });
      open.push(s);
      return s;
    },
    publish: async (json) => {
      const r = await call('/broadcast', { method: 'POST', token: mint('test-publisher', 'publisher'), json });
      if (r.status !== 202) throw new Error(`publish answered ${r.status}: ${await r.text()}`);
      return ((await r.json()) as { id: string }).id;
    },
    close: async () => {
      for (const s of open) s.close();
      await running.shutdown('test finished');
    },
  };
}
