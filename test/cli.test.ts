// The commands `npm run token` and `npm run hash-password`: --help, and a bad option.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { assertBuilt } from './support/processes.js';
import { TEST_SECRET } from './support/tokens.js';

/** Runs a built command to its end (bounded); answers its exit status and output. */
function run(script: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  assertBuilt();
  const r = spawnSync(process.execPath, [script, ...args], {
    env: { PATH: process.env.PATH ?? '', JWT_SECRET: TEST_SECRET }, encoding: 'utf8', timeout: 15_000, input: '',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.each([
  ['dist/cli/token.js', 'token', 'usage: npm run token'],
  ['dist/cli/hash-password.js', 'hash-password', 'usage: npm run hash-password'],
])('%s', (script, name, usage) => {
  it('--help prints the usage and exits 0', () => {
    const r = run(script, ['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith(usage)).toBe(true);
    expect(r.stderr).toBe('');
  });

  it('an unknown option prints one line naming it, then the usage, and exits 2 (no stack trace)', () => {
    const r = run(script, ['--bogus']);
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(`${name}: Unknown option '--bogus'`);
    expect(lines[1]?.startsWith(usage)).toBe(true);
    expect(r.stdout).toBe('');
  });
});
