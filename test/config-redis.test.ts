// The Redis deployment variables: one form at most, each validated, a bad value naming its variable.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

const BASE = { JWT_SECRET: 'config-redis-test-secret-0123456789-abcdef', NODE_ID: 'n1' };

function fails(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ ...BASE, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe('Redis deployment configuration', () => {
  it('reads each form', () => {
    expect(loadConfig({ ...BASE, REDIS_URL: 'rediss://u:p@redis.example:6380' }).redis)
      .toEqual({ form: 'standalone', url: 'rediss://u:p@redis.example:6380', waitReplicas: 0, waitTimeoutMs: 1000 });
    expect(loadConfig({
      ...BASE, REDIS_SENTINELS: 's1:26379, s2:26379,[::1]:26380', REDIS_SENTINEL_NAME: 'mymaster',
      REDIS_USERNAME: 'hub', REDIS_PASSWORD: 'secret', REDIS_TLS: 'true', REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '250',
    }).redis).toEqual({
      form: 'sentinel', name: 'mymaster',
      sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }, { host: '::1', port: 26380 }],
      auth: { username: 'hub', password: 'secret', tls: true }, waitReplicas: 1, waitTimeoutMs: 250,
    });
    expect(loadConfig({ ...BASE, REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2:7000', REDIS_PASSWORD: 'pw' }).redis).toEqual({
      form: 'cluster', nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7000 }],
      auth: { username: undefined, password: 'pw', tls: false }, waitReplicas: 0, waitTimeoutMs: 1000,
    });
    expect(loadConfig(BASE).redis).toBeUndefined();
  });

  it('refuses two forms at once, naming both variables', () => {
    const both = fails({ REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_NODES: 'b:7000' });
    expect(both.message).toContain('REDIS_URL');
    expect(both.message).toContain('REDIS_CLUSTER_NODES');
    const three = fails({ REDIS_URL: 'redis://a:6379', REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_NAME: 'm', REDIS_CLUSTER_NODES: 'b:7000' });
    for (const v of ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES']) expect(three.message).toContain(v);
  });

  it('names the variable of each bad value', () => {
    expect(fails({ REDIS_SENTINELS: 's:26379' }).variable).toBe('REDIS_SENTINEL_NAME');
    expect(fails({ REDIS_SENTINEL_NAME: 'm' }).variable).toBe('REDIS_SENTINEL_NAME');
    expect(fails({ REDIS_SENTINELS: 's', REDIS_SENTINEL_NAME: 'm' }).variable).toBe('REDIS_SENTINELS');
    expect(fails({ REDIS_CLUSTER_NODES: 'a:7000,b:99999' }).variable).toBe('REDIS_CLUSTER_NODES');
    expect(fails({ REDIS_CLUSTER_NODES: ' , ' }).variable).toBe('REDIS_CLUSTER_NODES');
    expect(fails({ REDIS_URL: 'http://a' }).variable).toBe('REDIS_URL');
    expect(fails({ REDIS_URL: 'redis://a', REDIS_PASSWORD: 'pw' }).variable).toBe('REDIS_PASSWORD');
    expect(fails({ REDIS_TLS: 'true' }).variable).toBe('REDIS_TLS');
    expect(fails({ REDIS_CLUSTER_NODES: 'a:7000', REDIS_TLS: 'yes please' }).variable).toBe('REDIS_TLS');
    expect(fails({ REDIS_CLUSTER_NODES: 'a:7000', REDIS_USERNAME: 'hub' }).variable).toBe('REDIS_USERNAME');
    expect(fails({ REDIS_URL: 'redis://a', REDIS_WAIT_REPLICAS: '-1' }).variable).toBe('REDIS_WAIT_REPLICAS');
    expect(fails({ REDIS_WAIT_REPLICAS: '1' }).variable).toBe('REDIS_WAIT_REPLICAS');
    expect(fails({ REDIS_URL: 'redis://a', REDIS_WAIT_TIMEOUT_MS: '0' }).variable).toBe('REDIS_WAIT_TIMEOUT_MS');
    expect(fails({ REDIS_URL: 'redis://a', REDIS_WAIT_TIMEOUT_MS: '5000' }).variable).toBe('REDIS_WAIT_TIMEOUT_MS');
    expect(fails({ WORKERS: '2' }).variable).toBe('WORKERS');
  });

  it('hash-tags the key prefix on a Cluster only, so all of the hub keys share one slot', () => {
    const cluster = { REDIS_CLUSTER_NODES: 'a:7000' };
    expect(loadConfig({ ...BASE, ...cluster }).redisPrefix).toBe('{roomcast}:');
    expect(loadConfig({ ...BASE, ...cluster, REDIS_PREFIX: 'app_' }).redisPrefix).toBe('{app_}');
    expect(loadConfig({ ...BASE, ...cluster, REDIS_PREFIX: '{hub}:rc:' }).redisPrefix).toBe('{hub}:rc:');
    expect(loadConfig({ ...BASE, REDIS_URL: 'redis://a' }).redisPrefix).toBe('roomcast:');
    expect(loadConfig({ ...BASE, REDIS_SENTINELS: 's:1', REDIS_SENTINEL_NAME: 'm', REDIS_PREFIX: 'x:' }).redisPrefix).toBe('x:');
    expect(loadConfig({ ...BASE, REDIS_CLUSTER_NODES: 'a:7000', WORKERS: '2' }).workers).toBe(2);
  });
});
