// The operator-facing files name what the code does: .env.example lists every variable the config
// reads with its default, docs/operations.md documents each, docs/api.md every endpoint and error code.
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../../src/config.js';
import { TEST_SECRET as SECRET } from '../support/tokens.js';
import { parseEnvExample, readRepoFile } from './deployfiles.js';

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
