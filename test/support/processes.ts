// Child processes for the tests: hub processes (`node dist/main.js`, the command the images run),
// redis-server, nginx, tini and the example scripts. Every child is tracked; a suite ends the ones
// it started with `kill` or, in afterAll, `stopAll`.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './net.js';
import { waitFor } from './wait.js';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The built entry point every hub process runs. */
export const MAIN = join(ROOT, 'dist', 'main.js');
/** How long a child may take to exit after a signal before it is sent SIGKILL. */
const KILL_GRACE_MS = 5000;
/** How long a hub process may take to answer its readiness path. */
const HUB_START_MS = 15_000;

/** Fails clearly when `npm run build` has not run. */
export function assertBuilt(): void {
  if (!existsSync(MAIN)) throw new Error('dist/main.js is missing: run `npm run build` first (npm test does)');
}

/** A running child with its output kept. */
export interface Child {
  proc: ChildProcess;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** stdout and stderr as they came, for failure messages. */
  output(): string;
  /** True until the process has exited. */
  alive(): boolean;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal`, then SIGKILL after `graceMs`; resolves once the process has exited. */
  kill(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

const running = new Set<Child>();

/** A clean environment for a child: PATH and HOME only, plus `extra` (nothing from the developer's shell). */
export function cleanEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
}

/**
 * Spawns a tracked child with piped output. With `stdoutFile`, stdout goes to that file instead:
 * a program that opens /dev/stdout (nginx's access_log) cannot open a pipe's socket, only a file.
 */
export function startChild(cmd: string, args: string[], opts: { env: NodeJS.ProcessEnv; cwd?: string; stdoutFile?: string }): Child {
  const outFd = opts.stdoutFile === undefined ? undefined : openSync(opts.stdoutFile, 'w');
  const proc = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env, stdio: ['ignore', outFd ?? 'pipe', 'pipe'] });
  if (outFd !== undefined) closeSync(outFd);
  let out = '';
  let err = '';
  let all = '';
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => { out += d; all += d; });
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => { err += d; all += d; });
  const alive = (): boolean => proc.exitCode === null && proc.signalCode === null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  const child: Child = {
    proc, exited, alive,
    stdout: () => (opts.stdoutFile === undefined ? out : readFileSync(opts.stdoutFile, 'utf8')),
    stderr: () => err,
    output: () => all,
    async kill(signal = 'SIGTERM', graceMs = KILL_GRACE_MS) {
      if (!alive()) return;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  running.add(child);
  return child;
}

/** SIGKILLs every child this test file started that is still running (for afterAll). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((c) => c.kill('SIGKILL')));
}

/** A hub process and where it listens. */
export interface HubChild extends Child {
  port: number;
  url: string;
}

/**
 * Starts `node dist/main.js` with `env` over quiet defaults (loopback, warn logs, no feeds) and
 * waits until `ready` (default /health) answers 200. From `cwd` (default: the repository root).
 */
export async function startHubProcess(
  env: Record<string, string>, opts: { cwd?: string; port?: number; ready?: '/health' | '/ready' } = {},
): Promise<HubChild> {
  assertBuilt();
  const port = opts.port ?? await freePort();
  const child = startChild(process.execPath, [MAIN], {
    cwd: opts.cwd, env: cleanEnv({ HOST: '127.0.0.1', LOG_LEVEL: 'warn', SIMULATORS: 'none', ...env, PORT: String(port) }),
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${url}${opts.ready ?? '/health'}`, async () => {
      if (!child.alive()) throw new Error(`hub exited (${child.proc.exitCode}): ${child.output()}`);
      return (await fetch(`${url}${opts.ready ?? '/health'}`, { signal: AbortSignal.timeout(1000) })).ok;
    }, HUB_START_MS, 50);
  } catch (err) {
    await child.kill('SIGKILL');
    throw err;
  }
  return { ...child, port, url };
}
