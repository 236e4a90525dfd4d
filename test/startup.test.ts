// Start-up failures of `node dist/main.js`: each stops with one line naming what to fix.
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { assertBuilt, cleanEnv, MAIN, startChild, stopAll } from './support/processes.js';
import { TEST_SECRET } from './support/tokens.js';

/** How long a hub that cannot start may take to exit. */
const EXIT_MS = 20_000;

afterAll(stopAll);

/** Runs the hub with `env` (from `cwd`) until it exits; answers its exit code and stderr. */
async function runToExit(env: Record<string, string>, cwd?: string): Promise<{ code: number | null; stderr: string }> {
  assertBuilt();
  const child = startChild(process.execPath, [MAIN], {
    cwd, env: cleanEnv({ LOG_LEVEL: 'warn', SIMULATORS: 'none', JWT_SECRET: TEST_SECRET, ...env }),
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hub still running after ${EXIT_MS} ms: ${child.output()}`)), EXIT_MS);
  });
  try {
    const { code } = await Promise.race([child.exited, timeout]);
    return { code, stderr: child.stderr() };
  } finally {
    clearTimeout(timer);
    await child.kill('SIGKILL');
  }
}

describe('listening', () => {
  it('a HOST that does not resolve stops the hub with a message naming HOST', async () => {
    const { code, stderr } = await runToExit({ HOST: 'nohost.invalid', PORT: '0' });
    expect(code).toBe(1);
    expect(stderr.trim()).toMatch(/^roomcast: cannot start: HOST: cannot resolve "nohost\.invalid" \(E[A-Z_]+\)$/);
  });

  it('a PORT in use stops the hub with a message naming PORT', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as { port: number }).port;
      const { code, stderr } = await runToExit({ HOST: '127.0.0.1', PORT: String(port) });
      expect(code).toBe(1);
      expect(stderr.trim()).toBe(`roomcast: cannot start: PORT: port ${port} on 127.0.0.1 is already in use (EADDRINUSE)`);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

describe('JWT_PUBLIC_KEY', () => {
  const base = { JWT_SECRET: TEST_SECRET, NODE_ID: 'n1' };

  it('a PEM that does not decode fails as an invalid configuration (exit 78)', async () => {
    const garbage = '-----BEGIN PUBLIC KEY-----garbage-----END PUBLIC KEY-----';
    expect(() => loadConfig({ ...base, JWT_PUBLIC_KEY: garbage })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, JWT_PUBLIC_KEY: garbage })).toThrow(/^JWT_PUBLIC_KEY: is not a readable PEM public key/);
    const { code, stderr } = await runToExit({ HOST: '127.0.0.1', PORT: '0', JWT_PUBLIC_KEY: garbage });
    expect(code).toBe(78);
    expect(stderr.trim()).toMatch(/^roomcast: invalid configuration: JWT_PUBLIC_KEY: is not a readable PEM public key[^\n]*$/);
  });

  it('accepts an RSA public key and refuses an EC one (RS256 needs RSA)', () => {
    const pem = (type: 'rsa' | 'ec'): string => (type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' }))
      .publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(loadConfig({ ...base, JWT_PUBLIC_KEY: pem('rsa') }).jwtPublicKey).toContain('BEGIN PUBLIC KEY');
    expect(() => loadConfig({ ...base, JWT_PUBLIC_KEY: pem('ec') })).toThrow(/^JWT_PUBLIC_KEY: must be an RSA public key \(RS256\), got ec$/);
  });
});

describe('.env', () => {
  it('a directory named .env stops the hub with one line naming .env (exit 78), no stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roomcast-dotenv-'));
    mkdirSync(join(dir, '.env'));
    const { code, stderr } = await runToExit({ HOST: '127.0.0.1', PORT: '0' }, dir);
    expect(code).toBe(78);
    expect(stderr.trim()).toBe('roomcast: invalid configuration: .env: is not a file (remove it or make it a file of VAR=value lines)');
  });
});
