import { ConfigError } from './config-error.js';

/** Default replicas a publish waits for before its 202 (0: the primary's answer is enough). */
export const REDIS_WAIT_REPLICAS = 0;
/** Default bound on that wait, in milliseconds. */
export const REDIS_WAIT_TIMEOUT_MS = 1_000;
/** Most replicas a publish may wait for. */
export const MAX_REDIS_WAIT_REPLICAS = 16;
/**
 * Upper bound on REDIS_WAIT_TIMEOUT_MS, in milliseconds: every Redis command gives up after 5 s
 * (COMMAND_TIMEOUT_MS in backend/redis/client.ts), and the wait must end well before that.
 */
export const MAX_REDIS_WAIT_TIMEOUT_MS = 4_000;

/** The variables that choose a Redis deployment; at most one may be set. */
export const REDIS_FORM_VARIABLES = ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const;

/** The Redis variables besides REDIS_URL and REDIS_PREFIX (for CONFIG_VARIABLES). */
export const REDIS_DEPLOYMENT_VARIABLES = [
  'REDIS_SENTINELS', 'REDIS_SENTINEL_NAME', 'REDIS_CLUSTER_NODES', 'REDIS_USERNAME', 'REDIS_PASSWORD', 'REDIS_TLS',
  'REDIS_WAIT_REPLICAS', 'REDIS_WAIT_TIMEOUT_MS',
] as const;

/** One `host:port`. */
export interface RedisAddress {
  readonly host: string;
  readonly port: number;
}

/** Credentials and TLS of the Sentinel and Cluster forms (a URL carries its own). */
export interface RedisAuth {
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly tls: boolean;
}

/** Where the hub's Redis is — one server, a Sentinel set or a Cluster — and how durable a publish must be. */
export type RedisDeployment = (
  | { readonly form: 'standalone'; readonly url: string }
  | { readonly form: 'sentinel'; readonly sentinels: readonly RedisAddress[]; readonly name: string; readonly auth: RedisAuth }
  | { readonly form: 'cluster'; readonly nodes: readonly RedisAddress[]; readonly auth: RedisAuth }
) & {
  /** Replicas that must confirm a publish before it is answered 202 (Redis WAIT). */
  readonly waitReplicas: number;
  readonly waitTimeoutMs: number;
};

type Env = Record<string, string | undefined>;

function set(env: Env, name: string): string | undefined {
  return env[name]?.trim() || undefined;
}

function whole(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = set(env, name);
  if (raw === undefined) return def;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** `host:port,host:port,…` (IPv6 hosts in brackets). */
function addresses(name: string, raw: string): RedisAddress[] {
  const out: RedisAddress[] = [];
  for (const item of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9][A-Za-z0-9.-]*)):(\d{1,5})$/.exec(item);
    const port = Number(m?.[3]);
    if (!m || port < 1 || port > 65_535) throw new ConfigError(name, `"${item}" is not host:port`);
    out.push({ host: (m[1] ?? m[2]) as string, port });
  }
  if (out.length === 0) throw new ConfigError(name, 'must list at least one host:port');
  return out;
}

function auth(env: Env): RedisAuth {
  const username = set(env, 'REDIS_USERNAME');
  const password = env.REDIS_PASSWORD || undefined;
  if (username !== undefined && password === undefined) throw new ConfigError('REDIS_USERNAME', 'needs REDIS_PASSWORD');
  const tlsRaw = set(env, 'REDIS_TLS')?.toLowerCase();
  if (tlsRaw !== undefined && !['true', 'false'].includes(tlsRaw)) throw new ConfigError('REDIS_TLS', `must be true or false, got "${env.REDIS_TLS}"`);
  return { username, password, tls: tlsRaw === 'true' };
}

/** Parses the Redis deployment; undefined when none is configured (everything in memory). */
export function parseRedisDeployment(env: Env): RedisDeployment | undefined {
  const given = REDIS_FORM_VARIABLES.filter((v) => set(env, v) !== undefined);
  if (given.length > 1) {
    throw new ConfigError(given[0] as string, `cannot be set together with ${given.slice(1).join(' and ')}: choose one Redis deployment`);
  }
  const sentinelName = set(env, 'REDIS_SENTINEL_NAME');
  if (sentinelName !== undefined && given[0] !== 'REDIS_SENTINELS') throw new ConfigError('REDIS_SENTINEL_NAME', 'is only used with REDIS_SENTINELS');
  const form = given[0];
  if (form !== 'REDIS_SENTINELS' && form !== 'REDIS_CLUSTER_NODES') {
    for (const v of ['REDIS_USERNAME', 'REDIS_PASSWORD', 'REDIS_TLS']) {
      if (set(env, v) !== undefined) {
        throw new ConfigError(v, form === 'REDIS_URL'
          ? 'applies to REDIS_SENTINELS and REDIS_CLUSTER_NODES; with REDIS_URL put the user and password in the URL (rediss:// for TLS)'
          : 'needs REDIS_SENTINELS or REDIS_CLUSTER_NODES');
      }
    }
  }
  const waitReplicas = whole(env, 'REDIS_WAIT_REPLICAS', REDIS_WAIT_REPLICAS, 0, MAX_REDIS_WAIT_REPLICAS);
  const waitTimeoutMs = whole(env, 'REDIS_WAIT_TIMEOUT_MS', REDIS_WAIT_TIMEOUT_MS, 1, MAX_REDIS_WAIT_TIMEOUT_MS);
  const wait = { waitReplicas, waitTimeoutMs };
  if (form === undefined) {
    if (waitReplicas > 0) throw new ConfigError('REDIS_WAIT_REPLICAS', 'needs a Redis deployment (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES)');
    return undefined;
  }
  if (form === 'REDIS_URL') {
    const url = set(env, 'REDIS_URL') as string;
    if (!/^rediss?:\/\//.test(url)) throw new ConfigError('REDIS_URL', 'must start with redis:// or rediss://');
    return { form: 'standalone', url, ...wait };
  }
  if (form === 'REDIS_SENTINELS') {
    if (sentinelName === undefined) throw new ConfigError('REDIS_SENTINEL_NAME', 'is required with REDIS_SENTINELS (the name the sentinels monitor the primary under)');
    return { form: 'sentinel', sentinels: addresses(form, set(env, form) as string), name: sentinelName, auth: auth(env), ...wait };
  }
  return { form: 'cluster', nodes: addresses(form, set(env, form) as string), auth: auth(env), ...wait };
}

/** The hash tag Redis Cluster hashes a key by: the text between the first `{` and the next `}`, when not empty. */
export function hashTag(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

/**
 * The key prefix in use. On a Cluster every key of the hub must hash to one slot (its scripts touch
 * several keys at once), so a prefix without a hash tag is wrapped in one: `roomcast:` becomes
 * `{roomcast}:`. Other forms use the prefix as given.
 */
export function effectivePrefix(prefix: string, deployment: RedisDeployment | undefined): string {
  return deployment?.form === 'cluster' ? hashTagged(prefix) : prefix;
}

/** The prefix itself when it has a hash tag, else the prefix wrapped in one (`roomcast:` → `{roomcast}:`). */
export function hashTagged(prefix: string): string {
  if (hashTag(prefix) !== undefined) return prefix;
  return prefix.endsWith(':') ? `{${prefix.slice(0, -1)}}:` : `{${prefix}}`;
}
