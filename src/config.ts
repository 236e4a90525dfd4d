import { createPublicKey, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { ConfigError } from './config-error.js';
import { REDIS_DEPLOYMENT_VARIABLES, effectivePrefix, parseRedisDeployment, type RedisDeployment } from './config-redis.js';
import { boolVar, durationVar, intVar, openFileLimit, type Env } from './config-vars.js';
import { webhookVars, type WebhookConfig } from './config-webhooks.js';

export { ConfigError } from './config-error.js';
export { loadEnvFile, openFileLimit, parseDurationSec } from './config-vars.js';
export { MIN_WEBHOOK_SECRET_BYTES, WEBHOOK_RETRY_FOR_SEC, type WebhookConfig } from './config-webhooks.js';

/** Default HTTP port. */
export const DEFAULT_PORT = 3000;
/** Default number of events kept in the replayable history. */
export const DEFAULT_HISTORY_SIZE = 1000;
/** Default interval between `: ping` comments on every stream, in milliseconds. */
export const HEARTBEAT_MS = 15_000;
/** Default `retry:` hint sent to EventSource clients, in milliseconds. */
export const RETRY_MS = 3_000;
/** Default maximum size of one encoded event, in bytes. */
export const MAX_EVENT_BYTES = 65_536;
/** Default bound on a connection's unsent bytes before it is evicted as a slow consumer. */
export const MAX_BUFFERED_BYTES = 1_048_576;
/** Default maximum open streams per user. */
export const MAX_CONNECTIONS_PER_USER = 20;
/** Default time allowed for a graceful shutdown, in milliseconds. */
export const SHUTDOWN_TIMEOUT_MS = 10_000;
/** Default token lifetime, in seconds (1 hour). */
export const JWT_TTL_SEC = 3_600;
/**
 * Default longest lifetime (exp - iat) of a token the hub accepts, in seconds (90 days): the hub's
 * own (JWT_TTL), service tokens (`npm run token`) and tokens issued elsewhere alike. A revocation
 * is kept this long after its `before`, since no token it refuses can outlive that.
 */
export const TOKEN_MAX_TTL_SEC = 90 * 86_400;
/** Default Redis key prefix. */
export const DEFAULT_REDIS_PREFIX = 'roomcast:';
/** Default most rooms one user belongs to (user-level and connection-level together, `user:<id>` not counted). */
export const MAX_ROOMS_PER_USER = 100;
/** Default time a user-level membership outlives the user's last stream, in seconds (30 days). */
export const USER_ROOMS_TTL_SEC = 30 * 86_400;
/** Default join, leave and chat requests per user per minute. */
export const USER_RATE_LIMIT = 120;
/** Default largest room (in users) whose members receive presence-join and presence-leave. */
export const PRESENCE_EVENTS_MAX_USERS = 100;
/** Default time allowed for a request's headers and body to arrive (streams excepted), in milliseconds. */
export const REQUEST_TIMEOUT_MS = 30_000;
/**
 * Descriptors kept free for everything but streams when MAX_STREAMS is derived from the open-file
 * limit: Redis connections, publishes and other requests, `/health`, log files, a storm of
 * connects waiting for their 503.
 */
export const STREAM_FD_RESERVE = 256;
/** The simulators a process may run. */
export const SIMULATOR_NAMES = ['time', 'stock', 'chat'] as const;
/** Minimum HS256 secret length outside demo mode, in bytes. */
export const MIN_SECRET_BYTES = 32;

/** One built-in feed's name. */
export type SimulatorName = (typeof SIMULATOR_NAMES)[number];

/** The validated, frozen configuration of one process. */
export interface Config {
  readonly port: number;
  readonly host: string | undefined;
  readonly nodeId: string;
  readonly jwtSecret: string;
  /** True when the secret was generated at start (demo mode without JWT_SECRET). */
  readonly jwtSecretGenerated: boolean;
  readonly jwtPublicKey: string | undefined;
  readonly jwtTtlSec: number;
  /** Longest token lifetime accepted, and how long revocations are kept (TOKEN_MAX_TTL). */
  readonly tokenMaxTtlSec: number;
  /** REDIS_URL when Redis is one server (see `redis` for every form). */
  readonly redisUrl: string | undefined;
  /** The Redis deployment (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES); undefined: all in memory. */
  readonly redis: RedisDeployment | undefined;
  /** The key prefix in use (on a Cluster, hash-tagged: see config-redis.ts). */
  readonly redisPrefix: string;
  readonly historySize: number;
  readonly heartbeatMs: number;
  readonly retryMs: number;
  readonly maxEventBytes: number;
  readonly maxBufferedBytes: number;
  readonly maxConnectionsPerUser: number;
  readonly corsOrigins: readonly string[] | '*' | undefined;
  readonly demo: boolean;
  readonly usersFile: string | undefined;
  readonly simulators: readonly SimulatorName[];
  readonly logLevel: string;
  readonly trustProxy: boolean | number | string;
  readonly shutdownTimeoutMs: number;
  readonly workers: number;
  readonly loginRateLimit: number;
  readonly maxRoomsPerUser: number;
  readonly userRoomsTtlSec: number;
  readonly userRateLimit: number;
  readonly maxStreams: number;
  readonly requestTimeoutMs: number;
  readonly presenceEventsMaxUsers: number;
  /** Unset: no webhooks. */
  readonly webhook: WebhookConfig | undefined;
}

/** Every environment variable the hub reads, for documentation and for checks of `.env.example`. */
export const CONFIG_VARIABLES = [
  'PORT', 'HOST', 'NODE_ID', 'JWT_SECRET', 'JWT_PUBLIC_KEY', 'JWT_TTL', 'TOKEN_MAX_TTL', 'REDIS_URL', 'REDIS_PREFIX',
  'HISTORY_SIZE', 'HEARTBEAT_MS', 'RETRY_MS', 'MAX_EVENT_BYTES', 'MAX_BUFFERED_BYTES',
  'MAX_CONNECTIONS_PER_USER', 'CORS_ORIGINS', 'DEMO', 'USERS_FILE', 'SIMULATORS', 'LOG_LEVEL',
  'TRUST_PROXY', 'SHUTDOWN_TIMEOUT_MS', 'WORKERS', 'LOGIN_RATE_LIMIT', 'MAX_ROOMS_PER_USER', 'USER_ROOMS_TTL',
  'USER_RATE_LIMIT', 'MAX_STREAMS', 'REQUEST_TIMEOUT_MS', 'PRESENCE_EVENTS_MAX_USERS',
  'WEBHOOK_URL', 'WEBHOOK_SECRET', 'WEBHOOK_EVENTS', 'WEBHOOK_RETRY_FOR', ...REDIS_DEPLOYMENT_VARIABLES,
] as const;

const nodeIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/);

/** Fails unless the key is a readable PEM RSA public key (RS256 verifies with it). */
function checkPublicKey(pem: string): void {
  if (!pem.includes('BEGIN PUBLIC KEY')) throw new ConfigError('JWT_PUBLIC_KEY', 'must be a PEM public key (-----BEGIN PUBLIC KEY-----)');
  let type: string | undefined;
  try {
    type = createPublicKey(pem).asymmetricKeyType;
  } catch (err) {
    throw new ConfigError('JWT_PUBLIC_KEY', `is not a readable PEM public key (${(err as Error).message.replace(/\.$/, '')})`);
  }
  if (type !== 'rsa') throw new ConfigError('JWT_PUBLIC_KEY', `must be an RSA public key (RS256), got ${type ?? 'an unknown type'}`);
}

/** Parses and validates the environment once; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const demo = boolVar(env, 'DEMO', false);
  const port = intVar(env, 'PORT', DEFAULT_PORT, 0, 65_535);
  const nodeId = env.NODE_ID?.trim() || `${hostname().replace(/[^A-Za-z0-9_.:-]/g, '-').slice(0, 40)}-${process.pid}-${randomBytes(3).toString('hex')}`;
  if (!nodeIdSchema.safeParse(nodeId).success) {
    throw new ConfigError('NODE_ID', 'must be 1-64 characters of letters, digits, _ . : -');
  }

  let jwtSecret = env.JWT_SECRET ?? '';
  let jwtSecretGenerated = false;
  if (jwtSecret === '') {
    if (!demo) throw new ConfigError('JWT_SECRET', `is required outside demo mode (at least ${MIN_SECRET_BYTES} bytes)`);
    jwtSecret = randomBytes(48).toString('base64url');
    jwtSecretGenerated = true;
  } else if (!demo && Buffer.byteLength(jwtSecret) < MIN_SECRET_BYTES) {
    throw new ConfigError('JWT_SECRET', `must be at least ${MIN_SECRET_BYTES} bytes outside demo mode`);
  }

  const jwtTtlSec = durationVar(env, 'JWT_TTL', JWT_TTL_SEC);
  const tokenMaxTtlSec = durationVar(env, 'TOKEN_MAX_TTL', TOKEN_MAX_TTL_SEC);
  if (jwtTtlSec > tokenMaxTtlSec) throw new ConfigError('JWT_TTL', `must not exceed TOKEN_MAX_TTL (${tokenMaxTtlSec} s)`);

  const redis = parseRedisDeployment(env);
  const redisUrl = redis?.form === 'standalone' ? redis.url : undefined;
  const givenPrefix = env.REDIS_PREFIX?.trim() || DEFAULT_REDIS_PREFIX;
  if (!/^[A-Za-z0-9_.:{}-]{1,64}$/.test(givenPrefix)) {
    throw new ConfigError('REDIS_PREFIX', 'must be 1-64 characters of letters, digits, _ . : { } -');
  }
  const redisPrefix = effectivePrefix(givenPrefix, redis);

  const corsRaw = env.CORS_ORIGINS?.trim();
  let corsOrigins: Config['corsOrigins'];
  if (corsRaw === '*') corsOrigins = '*';
  else if (corsRaw) {
    const list = corsRaw.split(',').map((s) => s.trim()).filter(Boolean);
    for (const origin of list) {
      if (!/^https?:\/\/[^\s/]+$/.test(origin)) throw new ConfigError('CORS_ORIGINS', `"${origin}" is not an origin like https://app.example.com`);
    }
    corsOrigins = Object.freeze(list);
  }

  const simRaw = env.SIMULATORS?.trim();
  let simulators: SimulatorName[];
  if (simRaw === undefined || simRaw === '') simulators = demo ? [...SIMULATOR_NAMES] : [];
  else if (simRaw === 'none') simulators = [];
  else {
    simulators = [];
    for (const s of simRaw.split(',').map((x) => x.trim()).filter(Boolean)) {
      if (!(SIMULATOR_NAMES as readonly string[]).includes(s)) {
        throw new ConfigError('SIMULATORS', `unknown feed "${s}" (known: ${SIMULATOR_NAMES.join(', ')}, or none)`);
      }
      if (!simulators.includes(s as SimulatorName)) simulators.push(s as SimulatorName);
    }
  }

  const usersFile = env.USERS_FILE?.trim() || undefined;
  if (usersFile !== undefined && !existsSync(usersFile)) throw new ConfigError('USERS_FILE', `file not found: ${usersFile}`);

  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of fatal, error, warn, info, debug, trace, silent; got "${logLevel}"`);
  }

  const tpRaw = env.TRUST_PROXY?.trim();
  let trustProxy: Config['trustProxy'] = false;
  if (tpRaw) {
    if (/^\d+$/.test(tpRaw)) trustProxy = Number(tpRaw);
    else if (['true', 'false'].includes(tpRaw.toLowerCase())) trustProxy = tpRaw.toLowerCase() === 'true';
    else if (/^[A-Za-z0-9.:/, _-]+$/.test(tpRaw)) trustProxy = tpRaw;
    else throw new ConfigError('TRUST_PROXY', `must be true, false, a hop count or a list of addresses/subnets; got "${tpRaw}"`);
  }

  const jwtPublicKey = env.JWT_PUBLIC_KEY?.trim() || undefined;
  if (jwtPublicKey !== undefined) checkPublicKey(jwtPublicKey);

  const workers = intVar(env, 'WORKERS', 1, 1, 64);
  if (workers > 1 && redis === undefined) throw new ConfigError('WORKERS', 'more than one worker needs Redis (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES): the workers share state through it');

  const config: Config = {
    port,
    host: env.HOST?.trim() || undefined,
    nodeId,
    jwtSecret,
    jwtSecretGenerated,
    jwtPublicKey,
    jwtTtlSec,
    tokenMaxTtlSec,
    redisUrl,
    redis,
    redisPrefix,
    historySize: intVar(env, 'HISTORY_SIZE', DEFAULT_HISTORY_SIZE, 1, 1_000_000),
    heartbeatMs: intVar(env, 'HEARTBEAT_MS', HEARTBEAT_MS, 100, 3_600_000),
    retryMs: intVar(env, 'RETRY_MS', RETRY_MS, 0, 3_600_000),
    maxEventBytes: intVar(env, 'MAX_EVENT_BYTES', MAX_EVENT_BYTES, 256, 16 * 1_048_576),
    maxBufferedBytes: intVar(env, 'MAX_BUFFERED_BYTES', MAX_BUFFERED_BYTES, 1024, 1_073_741_824),
    maxConnectionsPerUser: intVar(env, 'MAX_CONNECTIONS_PER_USER', MAX_CONNECTIONS_PER_USER, 1, 1_000_000),
    corsOrigins,
    demo,
    usersFile,
    simulators: Object.freeze(simulators),
    logLevel,
    trustProxy,
    shutdownTimeoutMs: intVar(env, 'SHUTDOWN_TIMEOUT_MS', SHUTDOWN_TIMEOUT_MS, 100, 600_000),
    workers,
    loginRateLimit: intVar(env, 'LOGIN_RATE_LIMIT', 10, 1, 100_000),
    maxRoomsPerUser: intVar(env, 'MAX_ROOMS_PER_USER', MAX_ROOMS_PER_USER, 1, 100_000),
    userRoomsTtlSec: durationVar(env, 'USER_ROOMS_TTL', USER_ROOMS_TTL_SEC),
    userRateLimit: intVar(env, 'USER_RATE_LIMIT', USER_RATE_LIMIT, 1, 1_000_000),
    maxStreams: intVar(env, 'MAX_STREAMS', Math.max(1, openFileLimit() - STREAM_FD_RESERVE), 1, 10_000_000),
    requestTimeoutMs: intVar(env, 'REQUEST_TIMEOUT_MS', REQUEST_TIMEOUT_MS, 100, 3_600_000),
    presenceEventsMaxUsers: intVar(env, 'PRESENCE_EVENTS_MAX_USERS', PRESENCE_EVENTS_MAX_USERS, 0, 1_000_000),
    webhook: webhookVars(env),
  };
  return Object.freeze(config);
}
