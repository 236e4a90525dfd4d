// Keeps the deployment files honest without a Docker engine: the Dockerfile,
// the compose files, .env.example, .dockerignore and the nginx config are parsed
// and checked against package.json and the config schema (src/config.ts).
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_VARIABLES, ConfigError, DEFAULT_PORT, HEARTBEAT_MS, MAX_EVENT_BYTES, SHUTDOWN_TIMEOUT_MS, SIMULATOR_NAMES, loadConfig,
} from '../../src/config.js';
import {
  ROOT, commandOf, copyParts, dockerIgnored, dockerignorePatterns, durationMs, envOf, environmentOf, interpolate, loadCompose,
  nginxBlock, nginxConfForTest, nginxDirectives, nginxTimeMs, parseDockerfile, parseEnvExample, readRepoFile, startCommand,
  type ComposeFile, type ComposeService, type Stage,
} from './deployfiles.js';

const KNOWN = new Set<string>(CONFIG_VARIABLES);
/** Variables the images set that the hub's config does not read but Node and its libraries do. */
const NOT_HUB_VARIABLES = new Set(['NODE_ENV']);
const SECRET = 'compose-test-secret-0123456789-abcdefghijklmnop';
const BASE = ['docker-compose.yml'];

/** Files under a path that git tracks or would add (untracked, not ignored). */
function repoFiles(path: string): string[] {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', path], { cwd: ROOT, encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}
const SCALED = ['docker-compose.yml', 'docker-compose.scale.yml'];

/** The services that run the hub: their command is the package's start command. */
function hubServices(c: ComposeFile): [string, ComposeService][] {
  return Object.entries(c.services).filter(([, s]) => s.image?.startsWith('roomcast') || s.build !== undefined);
}

function dependsOn(svc: ComposeService): Record<string, string> {
  const d = svc.depends_on;
  if (!d) return {};
  if (Array.isArray(d)) return Object.fromEntries(d.map((n) => [n, 'service_started']));
  return Object.fromEntries(Object.entries(d).map(([n, v]) => [n, v.condition]));
}

function healthTest(svc: ComposeService): string[] {
  const t = svc.healthcheck?.test;
  if (t === undefined) return [];
  return Array.isArray(t) ? t : ['CMD-SHELL', t];
}

function publishedPorts(svc: ComposeService): { published: string; target: number }[] {
  return (svc.ports ?? []).map((p) => {
    if (typeof p !== 'string') return { published: String(p.published), target: Number(p.target) };
    const parts = p.replace(/\/tcp$/, '').split(':');
    return { published: parts.length > 1 ? parts.at(-2)! : parts[0]!, target: Number(parts.at(-1)) };
  });
}

describe('package.json start command', () => {
  it('ends with `node dist/main.js`, the command the images run', () => {
    expect(startCommand()).toEqual(['node', 'dist/main.js']);
    const pkg = JSON.parse(readRepoFile('package.json')) as { main: string };
    expect(startCommand()[1]).toBe(pkg.main);
  });
});

describe('Dockerfile', () => {
  const df = parseDockerfile(readRepoFile('Dockerfile'));
  const runtime = df.stages.at(-1)!;
  const find = (stage: Stage, kw: string) => stage.instructions.filter((i) => i.keyword === kw);
  const stageByName = (name: string) => df.stages.find((s) => s.name === name);

  it('is multi-stage: a build stage with dev dependencies, a runtime with production ones only', () => {
    expect(df.stages.length).toBeGreaterThanOrEqual(2);
    const builder = df.stages.find((s) => find(s, 'RUN').some((r) => /\bnpm run build\b/.test(r.args)));
    expect(builder, 'a stage runs npm run build').toBeDefined();
    const builderCi = find(builder!, 'RUN').find((r) => /\bnpm ci\b/.test(r.args));
    expect(builderCi?.args, 'the build stage installs with dev dependencies').not.toMatch(/--omit=dev|--production/);
    expect(builder).not.toBe(runtime);

    // The runtime's node_modules: from a stage (or itself) that ran `npm ci --omit=dev`, never from the builder.
    const copies = find(runtime, 'COPY').map(copyParts);
    const modules = copies.filter((c) => c.sources.some((s) => /node_modules/.test(s)));
    const prodInstallHere = find(runtime, 'RUN').some((r) => /\bnpm ci\b.*--omit=dev/.test(r.args));
    expect(modules.length > 0 || prodInstallHere).toBe(true);
    for (const c of modules) {
      const from = stageByName(c.flags.from ?? '');
      expect(from, `node_modules come from a named stage: ${c.sources.join(' ')}`).toBeDefined();
      expect(from).not.toBe(builder);
      expect(find(from!, 'RUN').some((r) => /\bnpm ci\b.*--omit=dev/.test(r.args)), `stage ${from!.name} installs production dependencies only`).toBe(true);
    }
    // and the compiled output from the builder
    expect(copies.some((c) => c.flags.from === builder!.name && c.sources.some((s) => /\/dist\/?$/.test(s)))).toBe(true);
    // dist/ is ES modules: node needs package.json ("type": "module") beside it
    const pkg = JSON.parse(readRepoFile('package.json')) as { type?: string };
    if (pkg.type === 'module') expect(copies.some((c) => !c.flags.from && c.sources.includes('package.json'))).toBe(true);
    // and the dashboard
    expect(copies.some((c) => !c.flags.from && c.sources.includes('public'))).toBe(true);
  });

  it('uses a Node image that satisfies package.json engines', () => {
    const pkg = JSON.parse(readRepoFile('package.json')) as { engines: { node: string } };
    const min = /^>=\s*(\d+)\.(\d+)/.exec(pkg.engines.node)!;
    for (const s of df.stages) {
      const image = s.image.replace(/^\$\{?([A-Za-z_]+)\}?$/, (_, a: string) => df.globalArgs[a] ?? '');
      const m = /^node:(\d+)\.(\d+)/.exec(image);
      expect(m, `${s.image} resolves to a pinned node:<major>.<minor> image`).not.toBeNull();
      const [maj, minr] = [Number(m![1]), Number(m![2])];
      expect(maj > Number(min[1]) || (maj === Number(min[1]) && minr >= Number(min[2]))).toBe(true);
    }
  });

  it('runs as a non-root user', () => {
    const users = find(runtime, 'USER');
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)!.args).not.toMatch(/^(root|0)(:|$)/);
  });

  it('runs the package start command behind an init, with SIGTERM as the stop signal', () => {
    expect(find(runtime, 'CMD').at(-1)?.exec).toEqual(startCommand());
    const entry = find(runtime, 'ENTRYPOINT').at(-1)?.exec;
    expect(entry?.[0]).toMatch(/(^|\/)tini$/);
    expect(entry).toContain('--');
    expect(find(runtime, 'RUN').some((r) => /apt-get install[^&]*\btini\b/.test(r.args))).toBe(true);
    expect(find(runtime, 'STOPSIGNAL').at(-1)?.args).toBe('SIGTERM');
  });

  it('exposes the config default port and sets no variable the config does not know', () => {
    expect(find(runtime, 'EXPOSE').map((e) => Number(e.args.split('/')[0]))).toEqual([DEFAULT_PORT]);
    for (const stage of df.stages) {
      for (const e of find(stage, 'ENV')) {
        for (const [k, v] of Object.entries(envOf(e))) {
          expect(KNOWN.has(k) || NOT_HUB_VARIABLES.has(k), `ENV ${k}`).toBe(true);
          if (k === 'PORT') expect(Number(v)).toBe(DEFAULT_PORT);
        }
      }
    }
    const runtimeEnv = Object.fromEntries(find(runtime, 'ENV').flatMap((e) => Object.entries(envOf(e))));
    expect(runtimeEnv.NODE_ENV).toBe('production');
    // The image's own variables pass the config (JWT_SECRET comes from the operator).
    expect(() => loadConfig({ ...runtimeEnv, JWT_SECRET: SECRET })).not.toThrow();
  });

  it('has a HEALTHCHECK against /health with a script that is copied into the image', () => {
    const hc = find(runtime, 'HEALTHCHECK').at(-1);
    expect(hc).toBeDefined();
    const cmd = /\bCMD\s+(\[.*\])\s*$/.exec(hc!.args);
    expect(cmd).not.toBeNull();
    const argv = JSON.parse(cmd![1]!) as string[];
    expect(argv[0]).toBe('node');
    expect(argv).toContain('/health');
    const script = argv[1]!;
    expect(existsSync(join(ROOT, script))).toBe(true);
    expect(readRepoFile(script)).toMatch(/\/health/);
    const copied = find(runtime, 'COPY').map(copyParts).some((c) => !c.flags.from && c.sources.includes(script));
    expect(copied, `${script} is copied into the runtime stage`).toBe(true);
  });

  it('copies only files that exist and that .dockerignore lets through', () => {
    const patterns = dockerignorePatterns(readRepoFile('.dockerignore'));
    for (const stage of df.stages) {
      for (const c of find(stage, 'COPY').map(copyParts)) {
        if (c.flags.from) continue;
        for (const src of c.sources) {
          expect(existsSync(join(ROOT, src)), `COPY source ${src} exists`).toBe(true);
          // and is in the repository (a fresh clone has it; git keeps no empty folders)
          expect(repoFiles(src).length, `COPY source ${src} has files in the repository`).toBeGreaterThan(0);
          expect(dockerIgnored(patterns, src), `COPY source ${src} is not in .dockerignore`).toBe(false);
        }
      }
    }
  });

  it('.dockerignore keeps secrets, dependencies and build output out of the context', () => {
    const patterns = dockerignorePatterns(readRepoFile('.dockerignore'));
    for (const p of ['.env', '.env.local', 'node_modules', 'node_modules/x/index.js', 'dist', '.git', 'test-artifacts']) {
      expect(dockerIgnored(patterns, p), p).toBe(true);
    }
    for (const p of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src/config.ts', 'public', 'deploy/docker/healthcheck.mjs']) {
      expect(dockerIgnored(patterns, p), p).toBe(false);
    }
  });
});

describe('compose interpolation (the helper the checks rely on)', () => {
  it('follows the compose rules', () => {
    expect(interpolate('${A:-x}', {})).toBe('x');
    expect(interpolate('${A:-x}', { A: '' })).toBe('x');
    expect(interpolate('${A-x}', { A: '' })).toBe('');
    expect(interpolate('$A/${B}', { A: '1', B: '2' })).toBe('1/2');
    expect(interpolate('$$A', { A: '1' })).toBe('$A');
    expect(() => interpolate('${A:?need A}', {})).toThrow(/need A/);
  });
});

describe('docker-compose.yml (demo: Redis + one hub on :3000)', () => {
  const composeNoEnv = loadCompose(BASE, {});
  const composeWithSecret = loadCompose(BASE, { JWT_SECRET: SECRET });

  it('has Redis with a health check and one hub depending on it being healthy', () => {
    const redis = composeNoEnv.services.redis!;
    expect(redis.image).toMatch(/^redis:/);
    expect(healthTest(redis).join(' ')).toMatch(/redis-cli.*ping/);
    const hubs = hubServices(composeNoEnv);
    expect(hubs.map(([n]) => n)).toEqual(['hub']);
    expect(dependsOn(hubs[0]![1])).toEqual({ redis: 'service_healthy' });
  });

  it('runs the hub with the package start command, in demo mode with the feeds, on port 3000', () => {
    const hub = composeNoEnv.services.hub!;
    expect(hub.build).toBeDefined();
    expect(commandOf(hub)).toEqual(startCommand());
    const env = environmentOf(hub);
    const config = loadConfig(env);
    expect(config.demo).toBe(true);
    expect([...config.simulators].sort()).toEqual([...SIMULATOR_NAMES].sort());
    expect(config.redisUrl).toBe('redis://redis:6379');
    expect(config.port).toBe(DEFAULT_PORT);
    expect(publishedPorts(hub)).toEqual([{ published: '3000', target: config.port }]);
  });

  it('sets only variables the config knows, and each passes loadConfig with and without JWT_SECRET in the shell', () => {
    for (const c of [composeNoEnv, composeWithSecret]) {
      for (const [name, svc] of hubServices(c)) {
        const env = environmentOf(svc);
        for (const k of Object.keys(env)) expect(KNOWN.has(k), `${name}: ${k} is read by src/config.ts`).toBe(true);
        expect(() => loadConfig(env), name).not.toThrow();
      }
    }
    // No secret in the shell: demo mode generates one; with one, it is used.
    expect(loadConfig(environmentOf(composeNoEnv.services.hub!)).jwtSecretGenerated).toBe(true);
    expect(loadConfig(environmentOf(composeWithSecret.services.hub!)).jwtSecret).toBe(SECRET);
  });

  it('checks health on /health and gives the graceful shutdown time before SIGKILL', () => {
    const hub = composeNoEnv.services.hub!;
    const test = healthTest(hub);
    expect(test[0]).toBe('CMD');
    expect(test).toContain('/health');
    expect(existsSync(join(ROOT, test[2]!))).toBe(true);
    expect(hub.stop_signal ?? 'SIGTERM').toBe('SIGTERM');
    const config = loadConfig(environmentOf(hub));
    expect(config.shutdownTimeoutMs).toBe(SHUTDOWN_TIMEOUT_MS);
    expect(durationMs(hub.stop_grace_period ?? '10s')).toBeGreaterThan(config.shutdownTimeoutMs);
  });
});

describe('docker-compose.scale.yml (three hubs behind nginx on :8080)', () => {
  it('refuses to start without a shared JWT_SECRET', () => {
    expect(() => loadCompose(SCALED, {})).toThrow(/JWT_SECRET/);
    expect(() => loadCompose(SCALED, { JWT_SECRET: '' })).toThrow(/JWT_SECRET/);
  });

  const c = loadCompose(SCALED, { JWT_SECRET: SECRET });
  const hubs = hubServices(c);

  it('runs three hubs with the start command, valid config, one secret, one Redis, distinct node ids', () => {
    expect(hubs.length).toBe(3);
    const configs = hubs.map(([name, svc]) => {
      expect(commandOf(svc), name).toEqual(startCommand());
      expect(svc.image, name).toBe(c.services.hub!.image);
      // a local image name without `build` would make compose try to pull it from a registry
      expect(svc.build, `${name} builds the image`).toBeDefined();
      const env = environmentOf(svc);
      for (const k of Object.keys(env)) expect(KNOWN.has(k), `${name}: ${k}`).toBe(true);
      expect(dependsOn(svc).redis, name).toBe('service_healthy');
      expect(healthTest(svc), name).toContain('/health');
      expect(durationMs(svc.stop_grace_period ?? '10s')).toBeGreaterThan(SHUTDOWN_TIMEOUT_MS);
      return loadConfig(env);
    });
    expect(new Set(configs.map((x) => x.jwtSecret))).toEqual(new Set([SECRET]));
    expect(configs.every((x) => !x.jwtSecretGenerated)).toBe(true);
    expect(new Set(configs.map((x) => x.redisUrl)).size).toBe(1);
    expect(configs[0]!.redisUrl).toBe('redis://redis:6379');
    expect(new Set(configs.map((x) => x.redisPrefix)).size).toBe(1);
    expect(new Set(configs.map((x) => x.nodeId)).size).toBe(3);
    expect(configs.every((x) => x.demo && x.workers === 1)).toBe(true);
    expect(configs.every((x) => x.trustProxy !== false), 'hubs behind nginx trust its X-Forwarded-For').toBe(true);
  });

  it('puts nginx on :8080 with deploy/nginx/nginx.conf, after the hubs are healthy', () => {
    const nginx = c.services.nginx!;
    expect(nginx.image).toMatch(/^nginx:/);
    expect(publishedPorts(nginx)).toEqual([{ published: '8080', target: 8080 }]);
    const mounts = (nginx.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
    expect(mounts.some((m) => /^\.\/deploy\/nginx\/nginx\.conf:\/etc\/nginx\/nginx\.conf(:ro)?$/.test(m))).toBe(true);
    const deps = dependsOn(nginx);
    for (const [name] of hubs) expect(deps[name], name).toBe('service_healthy');
  });

  it('nginx.conf proxies to exactly the three hub services on their ports', () => {
    const conf = readRepoFile('deploy/nginx/nginx.conf');
    const upstream = nginxDirectives(nginxBlock(conf, /\bupstream\s+\S+\s*\{/));
    const servers = upstream.filter((d) => d[0] === 'server').map((d) => d[1]!);
    const expected = hubs.map(([name, svc]) => `${name}:${loadConfig(environmentOf(svc)).port}`);
    expect(servers.sort()).toEqual(expected.sort());
    // and the test's substitution touches exactly those lines and the listen port
    const swapped = nginxConfForTest(conf, Object.fromEntries(hubs.map(([n], i) => [n, `127.0.0.1:${4000 + i}`])), '127.0.0.1:9999');
    expect(swapped.split('\n').filter((l, i) => l !== conf.split('\n')[i]).length).toBe(4);
  });
});

describe('deploy/nginx/nginx.conf has what SSE needs', () => {
  const conf = readRepoFile('deploy/nginx/nginx.conf');
  const http = nginxDirectives(nginxBlock(conf, /\bhttp\s*\{/));
  const server = nginxDirectives(nginxBlock(conf, /\bserver\s*\{/));
  const events = nginxDirectives(nginxBlock(conf, /\blocation\s+=\s+\/events\s*\{/));
  const upstream = nginxDirectives(nginxBlock(conf, /\bupstream\s+\S+\s*\{/));
  const get = (dirs: string[][], name: string) => dirs.filter((d) => d[0] === name).map((d) => d.slice(1).join(' '));
  // A directive set in the location, or inherited from server / http.
  const effective = (name: string) => get(events, name)[0] ?? get(server, name)[0] ?? get(http, name)[0];

  it('streams /events unbuffered, uncached, uncompressed, with a read timeout far above the heartbeat', () => {
    expect(get(events, 'proxy_pass')[0]).toMatch(/^http:\/\//);
    expect(effective('proxy_buffering')).toBe('off');
    expect(effective('proxy_cache')).toBe('off');
    expect(effective('gzip') ?? 'off').toBe('off');
    expect(nginxTimeMs(effective('proxy_read_timeout')!)).toBeGreaterThanOrEqual(4 * HEARTBEAT_MS);
  });

  it('keeps HTTP/1.1 keep-alive connections to the hubs', () => {
    expect(effective('proxy_http_version')).toBe('1.1');
    // A location with its own proxy_set_header would drop the inherited ones.
    expect(get(events, 'proxy_set_header')).toEqual([]);
    expect(get(server, 'proxy_set_header')).toContain('Connection ""');
    expect(Number(get(upstream, 'keepalive')[0])).toBeGreaterThan(0);
  });

  it('honours X-Accel-Buffering from the hub and accepts a full batch', () => {
    const ignored = [...get(http, 'proxy_ignore_headers'), ...get(server, 'proxy_ignore_headers'), ...get(events, 'proxy_ignore_headers')];
    expect(ignored.join(' ')).not.toMatch(/X-Accel-Buffering/i);
    const max = get(server, 'client_max_body_size')[0] ?? get(http, 'client_max_body_size')[0] ?? '1m';
    const bytes = Number(max.replace(/[mk]$/i, '')) * (/m$/i.test(max) ? 1 << 20 : /k$/i.test(max) ? 1 << 10 : 1);
    expect(bytes).toBeGreaterThanOrEqual(100 * MAX_EVENT_BYTES);
  });

  it('never logs query strings (browsers send ?access_token=)', () => {
    const formats = get(http, 'log_format').join(' ');
    expect(formats).not.toMatch(/\$request\b|\$request_uri|\$args|\$query_string|\$arg_/);
    for (const al of get(http, 'access_log')) {
      const fmt = al.split(/\s+/)[1];
      expect(fmt, 'access_log names the custom format').toBeDefined();
      expect(formats.startsWith(fmt!)).toBe(true);
    }
  });
});

describe('.env.example', () => {
  const entries = parseEnvExample(readRepoFile('.env.example'));
  const env = Object.fromEntries(entries.map((e) => [e.key, e.value]));

  it('lists exactly the variables the config reads, once each', () => {
    const keys = entries.map((e) => e.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect([...keys].sort()).toEqual([...CONFIG_VARIABLES].sort());
  });

  it('gives each variable one line of meaning that names its default', () => {
    for (const e of entries) {
      // the comment line right above the assignment (section headers may precede it)
      expect(e.comment.length, e.key).toBeGreaterThan(0);
      expect(e.comment.at(-1), e.key).toMatch(/\(default[ :]/);
    }
  });

  it('holds the defaults: loaded as is it only misses the required JWT_SECRET, and otherwise equals an empty environment', () => {
    let err: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe('JWT_SECRET');
    const filled = { ...env, JWT_SECRET: SECRET, NODE_ID: 'n1' };
    expect(loadConfig(filled)).toEqual(loadConfig({ JWT_SECRET: SECRET, NODE_ID: 'n1' }));
  });

  it('is documented: docs/operations.md names every variable', () => {
    const ops = readRepoFile('docs/operations.md');
    for (const k of CONFIG_VARIABLES) expect(ops, k).toContain(`\`${k}\``);
  });
});

describe('files the compose setup refers to exist', () => {
  it('has the nginx config and the health check script', () => {
    expect(statSync(join(ROOT, 'deploy/nginx/nginx.conf')).isFile()).toBe(true);
    expect(statSync(join(ROOT, 'deploy/docker/healthcheck.mjs')).isFile()).toBe(true);
  });
});

describe('docs/api.md', () => {
  const api = readRepoFile('docs/api.md');
  // Every endpoint of the contract, each with a section that shows a curl call.
  const ENDPOINTS = [
    'POST /auth/login', 'POST /auth/refresh', 'POST /auth/logout', 'GET /events', 'GET /events/history',
    'POST /broadcast', 'POST /broadcast/room/:roomId', 'POST /broadcast/user/:userId', 'POST /broadcast/batch',
    'POST /rooms/:roomId/join', 'POST /rooms/:roomId/leave', 'GET /rooms', 'GET /rooms/:roomId/members',
    'POST /rooms/:roomId/messages', 'GET /health', 'GET /ready', 'GET /stats', 'GET /metrics',
  ];
  const sections = api.split(/\n(?=#{2,3} )/);

  it('documents every endpoint with a curl example', () => {
    for (const ep of ENDPOINTS) {
      const section = sections.find((s) => s.split('\n')[0]!.includes(`\`${ep}\``));
      expect(section, `a heading names \`${ep}\``).toBeDefined();
      const path = ep.split(' ')[1]!.replace(/:[A-Za-z]+/g, '[^\\s"?]+');
      const method = ep.split(' ')[0]!;
      const curl = new RegExp(`curl [^\\n]*${method === 'GET' ? '' : `-X ${method} `}[^\\n]*\\$HUB${path}(?=[\\s"?])`);
      expect(curl.test(section!), `a curl example for ${ep}`).toBe(true);
    }
  });

  it('lists every error code the hub answers, with its status', async () => {
    const { ERROR_STATUS } = await import('../../src/core/errors.js');
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      if (code === 'internal') continue; // 500: a bug, not part of the contract
      expect(api, code).toMatch(new RegExp(`\\| ${status} \\| \`${code}\` \\|`));
    }
  });
});

describe('the production image has what the code imports', () => {
  it('every package that src/ imports at run time is a production dependency (the image installs --omit=dev)', () => {
    const pkg = JSON.parse(readRepoFile('package.json')) as { dependencies: Record<string, string> };
    const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', 'src'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n').filter((f) => /\.(ts|mts|js|mjs)$/.test(f) && existsSync(join(ROOT, f)));
    expect(files.length).toBeGreaterThan(0);
    const used = new Set<string>();
    for (const f of files) {
      const text = readRepoFile(f);
      const specs = [
        ...[...text.matchAll(/^\s*(?:import|export)\s+(?!type\s)[^;]*?\bfrom\s+['"]([^'"]+)['"]/gms)].map((m) => m[1]!),
        ...[...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!),
        ...[...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!),
      ];
      for (const s of specs) {
        if (s.startsWith('.') || s.startsWith('node:')) continue;
        used.add(s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!);
      }
    }
    expect(used.size).toBeGreaterThan(0);
    for (const name of used) expect(pkg.dependencies, `${name} is imported by src/ but not in dependencies`).toHaveProperty([name]);
  });
});
