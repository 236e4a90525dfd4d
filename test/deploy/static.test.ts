// Keeps the Dockerfile honest without a Docker engine: it is read and checked against
// package.json, .dockerignore and the config schema (src/config.ts). entrypoint.test.ts runs its
// ENTRYPOINT, CMD, HEALTHCHECK and STOPSIGNAL for real.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, DEFAULT_PORT, loadConfig } from '../../src/config.js';
import { ROOT } from '../support/processes.js';
import { TEST_SECRET as SECRET } from '../support/tokens.js';
import {
  copyParts, dockerIgnored, dockerignorePatterns, envOf, parseDockerfile, readRepoFile, startCommand, type Stage,
} from './deployfiles.js';

const KNOWN = new Set<string>(CONFIG_VARIABLES);
/** Variables the images set that the hub's config does not read but Node and its libraries do. */
const NOT_HUB_VARIABLES = new Set(['NODE_ENV']);

/** Files under a path that git tracks or would add (untracked, not ignored). */
function repoFiles(path: string): string[] {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', path], { cwd: ROOT, encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
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
