// The docker CLI and compose v1 for the container tests (test/docker/*.test.ts),
// against the private engine that test/docker/run.sh starts, and the copies of
// the compose files that compose v1 on this machine can run.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { freePort } from '../support/net.js';
import { ROOT } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

/** The docker CLI of the engine's own version (run.sh names Debian's; the machine may have a newer client first on PATH). */
export const DOCKER = process.env.DOCKER ?? 'docker';
/** Compose v1 (Debian's docker-compose 1.29); v2 is not packaged for bookworm. */
export const COMPOSE = process.env.COMPOSE ?? 'docker-compose';

const BUILD_TIMEOUT_MS = 15 * 60_000;
const COMMAND_TIMEOUT_MS = 5 * 60_000;
const OUTPUT_TAIL_CHARS = 4000;

/** Fails with the way to run these tests when no engine was started for them. */
export function requireEngine(): void {
  if (!process.env.DOCKER_HOST) {
    throw new Error('DOCKER_HOST is not set: run `npm run test:docker`, which starts a private Docker engine for these tests');
  }
}

/** What a finished command printed. */
export interface Output { code: number | null; stdout: string; stderr: string }

/** Runs a command from the repository root; resolves with its output whatever its exit code. */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = COMMAND_TIMEOUT_MS): Promise<Output> {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    proc.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')}: no exit after ${timeoutMs} ms\n${stderr.slice(-OUTPUT_TAIL_CHARS)}`));
    }, timeoutMs);
    proc.once('error', (err) => { clearTimeout(timer); reject(err); });
    proc.once('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/** Runs a command and answers its stdout; fails with the end of its output unless it exits 0. */
export async function must(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = COMMAND_TIMEOUT_MS): Promise<string> {
  const r = await run(cmd, args, env, timeoutMs);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-OUTPUT_TAIL_CHARS)}\n${r.stdout.slice(-OUTPUT_TAIL_CHARS)}`);
  }
  return r.stdout;
}

/** `docker ARGS...` against the test engine. */
export const docker = (...args: string[]): Promise<string> => must(DOCKER, args);

/** `--build-arg` for the proxy variables that are set, so RUN steps reach the registries as the host does. */
function proxyBuildArgs(): string[] {
  const names = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];
  return names.filter((n) => process.env[n]).flatMap((n) => ['--build-arg', `${n}=${process.env[n]}`]);
}

/**
 * Builds the repository's Dockerfile with the repository as context, as
 * compose's `build: .` does. On the host's network: the engine runs without a
 * default bridge, so a build container has no other way out.
 */
export async function buildImage(tag: string): Promise<string> {
  const started = performance.now();
  const out = await must(DOCKER, ['build', '--network', 'host', ...proxyBuildArgs(), '-t', tag, '.'], process.env, BUILD_TIMEOUT_MS);
  console.log(`[docker] built ${tag} from the Dockerfile in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return out;
}

/** The hard limit of open files a process here may have (containers cannot be granted more). */
export async function hostNofileLimit(): Promise<number> {
  const out = await must('sh', ['-c', 'ulimit -Hn']);
  return out.trim() === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(out.trim());
}

type Service = { ports?: unknown[]; ulimits?: { nofile?: { soft: number; hard: number } | number } };

/**
 * Writes a copy of a compose file that compose v1 runs on this machine, and
 * changes nothing else: without the top-level `name:` (v1 rejects it; the test
 * names the project with -p), with each published port on 127.0.0.1 and a free
 * port (the test reaches containers through those; fixed ports could be taken),
 * and with `ulimits.nofile` no higher than `nofileCap` (65536 cannot be granted here).
 */
export async function deriveForV1(file: string, dir: string, nofileCap: number, published: Record<string, Record<number, number>>): Promise<string> {
  const doc = parseYaml(readFileSync(join(ROOT, file), 'utf8')) as { name?: string; services: Record<string, Service> };
  delete doc.name;
  for (const [name, svc] of Object.entries(doc.services)) {
    const nofile = svc.ulimits?.nofile;
    if (nofile !== undefined) {
      const [soft, hard] = typeof nofile === 'number' ? [nofile, nofile] : [nofile.soft, nofile.hard];
      svc.ulimits!.nofile = { soft: Math.min(soft, nofileCap), hard: Math.min(hard, nofileCap) };
    }
    if (svc.ports) {
      const ports: string[] = [];
      for (const p of svc.ports) {
        const m = /^(?:[\d.]+:)?\d+:(\d+)$/.exec(String(p));
        if (!m) throw new Error(`${file}: ${name}: port "${String(p)}" is not HOST:CONTAINER`);
        const host = await freePort();
        (published[name] ??= {})[Number(m[1])] = host;
        ports.push(`127.0.0.1:${host}:${m[1]}`);
      }
      svc.ports = ports;
    }
  }
  const out = join(dir, basename(file));
  // Every string quoted: compose v1 reads YAML 1.1, where a plain `no` (redis's `--appendonly no`) is false.
  writeFileSync(out, stringifyYaml(doc, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' }));
  return out;
}

/** A container's state as `docker inspect` reports it. */
export interface ContainerState { Status: string; Running: boolean; ExitCode: number; OOMKilled: boolean; Health?: { Status: string } }

/** One compose project on the test engine, made from v1 copies of the repository's compose files. */
export class ComposeProject {
  /** Host ports on 127.0.0.1 by service and container port. */
  readonly published: Record<string, Record<number, number>> = {};
  private files: string[] = [];

  private constructor(readonly name: string, private readonly dir: string, private readonly env: NodeJS.ProcessEnv) {}

  /** Copies `files` for compose v1 (see deriveForV1); `vars` are the shell's variables for `${...}` in them. */
  static async create(files: string[], vars: Record<string, string> = {}): Promise<ComposeProject> {
    const dir = mkdtempSync(join(tmpdir(), 'roomcast-compose-'));
    // Only what compose needs: no variable of the caller's shell leaks into `${...}`.
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, DOCKER_HOST: process.env.DOCKER_HOST, ...vars };
    const project = new ComposeProject(`roomcast${randomBytes(4).toString('hex')}`, dir, env);
    const cap = await hostNofileLimit();
    for (const f of files) project.files.push(await deriveForV1(f, dir, cap, project.published));
    // An empty env file: a developer's .env next to the compose files must not change the test.
    writeFileSync(join(dir, 'empty.env'), '');
    return project;
  }

  /** `docker-compose ARGS...` for this project; paths in the files resolve against the repository root. */
  compose(...args: string[]): Promise<string> {
    const files = this.files.flatMap((f) => ['-f', f]);
    return must(COMPOSE, ['--project-directory', ROOT, '--env-file', join(this.dir, 'empty.env'), '-p', this.name, ...files, ...args], this.env);
  }

  /** `up -d` with the image already built (compose would otherwise build it without the host network). */
  up(): Promise<string> {
    return this.compose('up', '-d', '--no-build');
  }

  /** The id of a service's one container. */
  async containerId(service: string): Promise<string> {
    const out = await docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${this.name}`, '--filter', `label=com.docker.compose.service=${service}`);
    const ids = out.split('\n').filter(Boolean);
    if (ids.length !== 1) throw new Error(`${this.name}: expected one container of ${service}, found ${ids.length}`);
    return ids[0]!;
  }

  /** `http://127.0.0.1:<host port>` of a service's published container port. */
  url(service: string, containerPort: number): string {
    const port = this.published[service]?.[containerPort];
    if (port === undefined) throw new Error(`${service} publishes no port ${containerPort}`);
    return `http://127.0.0.1:${port}`;
  }

  /** Waits until Docker's own health check calls the service healthy. */
  async waitHealthy(service: string, timeoutMs = 90_000): Promise<void> {
    const id = await this.containerId(service);
    await waitFor(`${service} healthy`, async () => {
      const state = await containerState(id);
      if (!state.Running) throw new Error(`${service} is ${state.Status} (exit ${state.ExitCode}): ${await containerLogs(id)}`);
      return state.Health?.Status === 'healthy';
    }, timeoutMs, 500);
  }

  /** Removes the project's containers and network, and the copied files. */
  async down(): Promise<void> {
    try {
      await this.compose('down', '--volumes', '--remove-orphans', '--timeout', '20');
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** `docker inspect`'s State of a container. */
export async function containerState(id: string): Promise<ContainerState> {
  return JSON.parse(await docker('inspect', '-f', '{{json .State}}', id)) as ContainerState;
}

/** A container's output, stdout and stderr. */
export async function containerLogs(id: string): Promise<string> {
  const r = await run(DOCKER, ['logs', id]);
  return r.stdout + r.stderr;
}

/** A container's environment and its address on its (one) compose network. */
export async function containerInfo(id: string): Promise<{ env: Record<string, string>; ip: string }> {
  const info = JSON.parse(await docker('inspect', id)) as [{ Config: { Env: string[] }; NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }];
  const env = Object.fromEntries(info[0].Config.Env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  const ips = Object.values(info[0].NetworkSettings.Networks).map((n) => n.IPAddress);
  if (ips.length !== 1) throw new Error(`container ${id} is on ${ips.length} networks`);
  return { env, ip: ips[0]! };
}
