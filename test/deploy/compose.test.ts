// Keeps the compose files and the nginx config honest without a Docker engine: the compose files
// are loaded as compose would (YAML, interpolation, override merge) and checked against package.json,
// the config schema (src/config.ts) and deploy/nginx/nginx.conf. nginx.test.ts runs that config for real.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_VARIABLES, DEFAULT_PORT, HEARTBEAT_MS, MAX_EVENT_BYTES, SHUTDOWN_TIMEOUT_MS, SIMULATOR_NAMES, loadConfig,
} from '../../src/config.js';
import { ROOT } from '../support/processes.js';
import { TEST_SECRET as SECRET } from '../support/tokens.js';
import {
  commandOf, durationMs, environmentOf, interpolate, loadCompose, nginxBlock, nginxConfForTest, nginxDirectives, nginxTimeMs,
  readRepoFile, startCommand, type ComposeFile, type ComposeService,
} from './deployfiles.js';

const KNOWN = new Set<string>(CONFIG_VARIABLES);
const BASE = ['docker-compose.yml'];
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

describe('files the compose setup refers to exist', () => {
  it('has the nginx config and the health check script', () => {
    expect(statSync(join(ROOT, 'deploy/nginx/nginx.conf')).isFile()).toBe(true);
    expect(statSync(join(ROOT, 'deploy/docker/healthcheck.mjs')).isFile()).toBe(true);
  });
});
