// Child processes for the deploy tests: hub processes (`node dist/main.js`, the
// command the images run), nginx, and the example scripts. Every child is
// tracked and killed by the test that started it.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './deployfiles.js';
import { freePort, waitFor } from '../support/wait.js';

export { freePort, waitFor } from '../support/wait.js';

export const MAIN = join(ROOT, 'dist', 'main.js');

export function assertBuilt(): void {
  if (!existsSync(MAIN)) throw new Error('dist/main.js is missing: run `npm run build` first');
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export interface Child {
  proc: ChildProcess;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Spawns a child with piped output. With `stdoutFile`, stdout goes to that file
 * instead: a program that opens /dev/stdout (nginx's access_log) cannot open a
 * pipe's socket, only a file.
 */
export function startChild(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd = ROOT, stdoutFile?: string): Child {
  const outFd = stdoutFile === undefined ? undefined : openSync(stdoutFile, 'w');
  const proc = spawn(cmd, args, { cwd, env, stdio: ['ignore', outFd ?? 'pipe', 'pipe'] });
  if (outFd !== undefined) closeSync(outFd);
  let out = '';
  let err = '';
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => { out += d; });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    proc,
    stdout: () => (stdoutFile === undefined ? out : readFileSync(stdoutFile, 'utf8')),
    stderr: () => err,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A clean environment for a child: PATH and HOME only, plus `extra` (nothing from the developer's shell config). */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
}

export interface Hub extends Child {
  port: number;
  url: string;
}

/** Starts `node dist/main.js` (from a folder without .env) and waits until /health answers. */
export async function startHub(env: Record<string, string>, cwd: string): Promise<Hub> {
  assertBuilt();
  const port = await freePort();
  const child = startChild(process.execPath, [MAIN], cleanEnv({ LOG_LEVEL: 'warn', ...env, PORT: String(port), HOST: '127.0.0.1' }), cwd);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`hub on ${url}/health`, async () => {
      if (child.proc.exitCode !== null) throw new Error(`hub exited ${child.proc.exitCode}: ${child.stderr()}${child.stdout()}`);
      const res = await fetch(`${url}/health`);
      return res.ok ? true : undefined;
    }, 15_000);
  } catch (err) {
    await child.kill('SIGKILL');
    throw err;
  }
  return { ...child, port, url };
}

export async function postJson(url: string, body: unknown, token?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
}

export async function login(baseUrl: string, username: string, password = username): Promise<string> {
  const r = await postJson(`${baseUrl}/auth/login`, { username, password });
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${JSON.stringify(r.body)}`);
  return (r.body as { token: string }).token;
}
