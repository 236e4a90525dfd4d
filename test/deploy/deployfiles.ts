// Parsers for the deployment files (Dockerfile, compose files, .env.example,
// .dockerignore, nginx.conf) used by the deploy tests. Small and strict: they
// understand what these files use and fail loudly on anything else.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ROOT } from '../support/processes.js';

export { ROOT } from '../support/processes.js';

export function readRepoFile(rel: string): string {
  return readFileSync(join(ROOT, rel), 'utf8');
}

// ---------------------------------------------------------------- package.json

/** The command `npm start` ends with, split into argv: "npm run build && node dist/main.js" -> ["node", "dist/main.js"]. */
export function startCommand(): string[] {
  const pkg = JSON.parse(readRepoFile('package.json')) as { scripts: Record<string, string> };
  const start = pkg.scripts.start;
  if (!start) throw new Error('package.json has no start script');
  const last = start.split('&&').map((s) => s.trim()).at(-1) ?? '';
  return last.split(/\s+/);
}

// ------------------------------------------------------------------ Dockerfile

export interface Instruction {
  /** Upper-cased keyword: FROM, RUN, COPY, ... */
  keyword: string;
  /** The raw arguments after the keyword, continuation lines joined. */
  args: string;
  /** The exec form (JSON array) when the arguments are one, else undefined. */
  exec: string[] | undefined;
}

export interface Stage {
  name: string | undefined;
  image: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  globalArgs: Record<string, string>;
  stages: Stage[];
}

export function parseDockerfile(text: string): Dockerfile {
  const logical: string[] = [];
  let current = '';
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/\r$/, '');
    if (/^\s*#/.test(line)) continue; // comments (and parser directives) never continue an instruction
    if (current === '' && line.trim() === '') continue;
    if (line.endsWith('\\')) {
      current += line.slice(0, -1) + ' ';
      continue;
    }
    current += line;
    logical.push(current.trim());
    current = '';
  }
  if (current.trim() !== '') logical.push(current.trim());

  const out: Dockerfile = { globalArgs: {}, stages: [] };
  for (const l of logical) {
    const m = /^([A-Za-z]+)\s+([\s\S]*)$/.exec(l);
    if (!m) throw new Error(`Dockerfile: cannot parse "${l}"`);
    const keyword = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    let exec: string[] | undefined;
    if (args.startsWith('[')) {
      const parsed: unknown = JSON.parse(args);
      if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) throw new Error(`Dockerfile: bad exec form "${l}"`);
      exec = parsed as string[];
    }
    if (keyword === 'FROM') {
      const fm = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!fm) throw new Error(`Dockerfile: bad FROM "${l}"`);
      out.stages.push({ image: fm[1]!, name: fm[2], instructions: [] });
      continue;
    }
    const instr: Instruction = { keyword, args, exec };
    const stage = out.stages.at(-1);
    if (!stage) {
      if (keyword !== 'ARG') throw new Error(`Dockerfile: ${keyword} before FROM`);
      const am = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(args);
      if (!am) throw new Error(`Dockerfile: bad ARG "${l}"`);
      out.globalArgs[am[1]!] = am[2] ?? '';
      continue;
    }
    stage.instructions.push(instr);
  }
  return out;
}

/** `ENV A=1 B=2` (and the legacy `ENV A 1`) as a map. */
export function envOf(instr: Instruction): Record<string, string> {
  const env: Record<string, string> = {};
  if (!/=/.test(instr.args.split(/\s+/)[0] ?? '')) {
    const [k, ...rest] = instr.args.split(/\s+/);
    env[k!] = rest.join(' ');
    return env;
  }
  for (const m of instr.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const v = m[2]!;
    env[m[1]!] = v.startsWith('"') ? (JSON.parse(v) as string) : v;
  }
  return env;
}

/** Splits `COPY [--flags] src... dest` into flags, sources and destination. */
export function copyParts(instr: Instruction): { flags: Record<string, string>; sources: string[]; dest: string } {
  const words = instr.exec ?? instr.args.split(/\s+/);
  const flags: Record<string, string> = {};
  const rest: string[] = [];
  for (const w of words) {
    const fm = /^--([a-z-]+)(?:=(.*))?$/.exec(w);
    if (fm && rest.length === 0) flags[fm[1]!] = fm[2] ?? 'true';
    else rest.push(w);
  }
  if (rest.length < 2) throw new Error(`COPY needs a source and a destination: ${instr.args}`);
  return { flags, sources: rest.slice(0, -1), dest: rest.at(-1)! };
}

// --------------------------------------------------------------- .dockerignore

/** True when `.dockerignore` patterns exclude `path` (a context-relative path) or one of its parents. */
export function dockerIgnored(patterns: string[], path: string): boolean {
  const toRegex = (p: string): RegExp => {
    let re = '';
    for (let i = 0; i < p.length; i++) {
      const c = p[i]!;
      if (c === '*' && p[i + 1] === '*') {
        re += '.*';
        i++;
        if (p[i + 1] === '/') i++;
      } else if (c === '*') re += '[^/]*';
      else if (c === '?') re += '[^/]';
      else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    return new RegExp(`^${re}$`);
  };
  const parts = path.replace(/^\.\//, '').replace(/\/$/, '').split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const raw of patterns) {
    const neg = raw.startsWith('!');
    const pat = (neg ? raw.slice(1) : raw).replace(/^\/+/, '').replace(/\/+$/, '');
    const re = toRegex(pat);
    if (candidates.some((c) => re.test(c))) ignored = !neg;
  }
  return ignored;
}

export function dockerignorePatterns(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

// --------------------------------------------------------------------- compose

export type Env = Record<string, string | undefined>;

/** Compose variable interpolation: $$, $VAR, ${VAR}, ${VAR:-def}, ${VAR-def}, ${VAR:?err}, ${VAR?err}. */
export function interpolate(s: string, env: Env): string {
  return s.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|-|:\?|\?)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, name: string | undefined, op: string | undefined, arg: string | undefined, bare: string | undefined) => {
      if (match === '$$') return '$';
      const key = (name ?? bare)!;
      const value = env[key];
      switch (op) {
        case ':-': return value === undefined || value === '' ? arg! : value;
        case '-': return value === undefined ? arg! : value;
        case ':?': if (value === undefined || value === '') throw new Error(`required variable ${key} is missing a value: ${arg}`); return value;
        case '?': if (value === undefined) throw new Error(`required variable ${key} is missing a value: ${arg}`); return value;
        default: return value ?? '';
      }
    },
  );
}

function interpolateDeep(v: unknown, env: Env): unknown {
  if (typeof v === 'string') return interpolate(v, env);
  if (Array.isArray(v)) return v.map((x) => interpolateDeep(x, env));
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, interpolateDeep(x, env)]));
  }
  return v;
}

const MERGED_SEQUENCES = new Set(['ports', 'volumes', 'expose', 'dns', 'cap_add', 'cap_drop']);

/** Merges an override compose file into a base one the way `docker compose -f a -f b` does for what these files use. */
function mergeCompose(base: unknown, over: unknown, key = ''): unknown {
  if (Array.isArray(base) && Array.isArray(over)) {
    if (MERGED_SEQUENCES.has(key)) return [...new Set([...base, ...over].map((x) => JSON.stringify(x)))].map((x) => JSON.parse(x) as unknown);
    return over;
  }
  if (base && over && typeof base === 'object' && typeof over === 'object' && !Array.isArray(base) && !Array.isArray(over)) {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(over)) {
      const b = (base as Record<string, unknown>)[k];
      // environment given as a list in one file and a map in the other: normalise to maps first
      if (k === 'environment') {
        type EnvField = ComposeService['environment'];
        out[k] = { ...environmentOf({ environment: b as EnvField }), ...environmentOf({ environment: v as EnvField }) };
      }
      else out[k] = b === undefined ? v : mergeCompose(b, v, k);
    }
    return out;
  }
  return over;
}

export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | { target: number; published: number | string })[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] | string; interval?: string; timeout?: string; retries?: number };
  volumes?: (string | { type: string; source: string; target: string; read_only?: boolean })[];
  stop_signal?: string;
  stop_grace_period?: string;
  init?: boolean;
  profiles?: string[];
  [k: string]: unknown;
}

export interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
}

/** Loads one or more compose files (later ones override), interpolated with `env` as the shell environment. */
export function loadCompose(files: string[], env: Env): ComposeFile {
  let merged: unknown = {};
  for (const f of files) {
    const doc: unknown = parseYaml(readRepoFile(f));
    merged = mergeCompose(merged, interpolateDeep(doc, env));
  }
  const c = merged as ComposeFile;
  if (!c.services || typeof c.services !== 'object') throw new Error(`${files.join(' + ')}: no services`);
  return c;
}

/** A service's environment as strings (list or map form). */
export function environmentOf(svc: Pick<ComposeService, 'environment'>): Record<string, string> {
  const env: Record<string, string> = {};
  const e = svc.environment;
  if (e === undefined || e === null) return env;
  if (Array.isArray(e)) {
    for (const item of e) {
      const i = item.indexOf('=');
      if (i < 0) throw new Error(`environment entry without a value: ${item}`);
      env[item.slice(0, i)] = item.slice(i + 1);
    }
    return env;
  }
  for (const [k, v] of Object.entries(e)) env[k] = v === null ? '' : String(v);
  return env;
}

export function commandOf(svc: ComposeService): string[] | undefined {
  if (svc.command === undefined) return undefined;
  return Array.isArray(svc.command) ? svc.command : svc.command.split(/\s+/);
}

/** Duration strings of compose ("15s", "1m30s", "500ms") in milliseconds. */
export function durationMs(s: string): number {
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s|us)/g;
  let consumed = '';
  for (const m of s.matchAll(re)) {
    consumed += m[0];
    const n = Number(m[1]);
    total += m[2] === 'h' ? n * 3_600_000 : m[2] === 'm' ? n * 60_000 : m[2] === 's' ? n * 1000 : m[2] === 'ms' ? n : n / 1000;
  }
  if (consumed !== s) throw new Error(`not a duration: ${s}`);
  return total;
}

// ----------------------------------------------------------------- .env.example

export interface EnvExampleEntry {
  key: string;
  value: string;
  /** The comment lines right above the assignment. */
  comment: string[];
}

export function parseEnvExample(text: string): EnvExampleEntry[] {
  const entries: EnvExampleEntry[] = [];
  let comment: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') { comment = []; continue; }
    if (line.startsWith('#')) { comment.push(line.replace(/^#\s?/, '')); continue; }
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new Error(`.env.example: not KEY=VALUE: "${line}"`);
    let value = m[2]!;
    if (/^".*"$/.test(value) || /^'.*'$/.test(value)) value = value.slice(1, -1);
    entries.push({ key: m[1]!, value, comment });
    comment = [];
  }
  return entries;
}

// ----------------------------------------------------------------------- nginx

/** The body of the first `<keyword> <arg> { ... }` block (brace matched, comments stripped). */
export function nginxBlock(conf: string, header: RegExp): string {
  const text = conf.replace(/#[^\n]*/g, '');
  const m = header.exec(text);
  if (!m) throw new Error(`nginx.conf: no block ${header}`);
  let depth = 0;
  const start = text.indexOf('{', m.index);
  for (let i = start; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(start + 1, i);
  }
  throw new Error(`nginx.conf: unbalanced block ${header}`);
}

/** Directives at the top level of a block body (nested blocks skipped): [name, ...args]. */
export function nginxDirectives(body: string): string[][] {
  const out: string[][] = [];
  let depth = 0;
  let cur = '';
  for (const ch of body.replace(/#[^\n]*/g, '')) {
    if (ch === '{') { depth++; cur = ''; continue; }
    if (ch === '}') { depth--; cur = ''; continue; }
    if (depth > 0) continue;
    if (ch === ';') {
      const words = cur.trim().match(/"[^"]*"|'[^']*'|\S+/g) ?? [];
      if (words.length) out.push(words);
      cur = '';
    } else cur += ch;
  }
  return out;
}

/** nginx time ("1h", "75s", "500ms", "60") in milliseconds. */
export function nginxTimeMs(s: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(s);
  if (!m) throw new Error(`not an nginx time: ${s}`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as Record<string, number>)[unit]!;
}

/**
 * The nginx.conf the tests run: deploy/nginx/nginx.conf with only the upstream
 * addresses (`server <name>:3000`) and the `listen 8080;` port replaced. Every
 * other line, every SSE directive included, is the file as committed.
 */
export function nginxConfForTest(conf: string, upstreams: Record<string, string>, listen: string): string {
  let out = conf;
  for (const [name, addr] of Object.entries(upstreams)) {
    const re = new RegExp(`^(\\s*server\\s+)${name.replace(/[.-]/g, '\\$&')}:\\d+(?=[\\s;])`, 'gm');
    const hits = out.match(re)?.length ?? 0;
    if (hits !== 1) throw new Error(`nginx.conf: expected one "server ${name}:<port>" line, found ${hits}`);
    out = out.replace(re, `$1${addr}`);
  }
  const listenRe = /^(\s*listen\s+)8080(?=\s*;)/gm;
  const hits = out.match(listenRe)?.length ?? 0;
  if (hits !== 1) throw new Error(`nginx.conf: expected one "listen 8080;", found ${hits}`);
  return out.replace(listenRe, `$1${listen}`);
}
