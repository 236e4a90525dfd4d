// Readers for the deployment files the deploy tests check (Dockerfile, compose files, .env.example,
// .dockerignore, nginx.conf). Compose files are YAML (the `yaml` package); the rest are small and
// strict: they understand what these files use and fail loudly on anything else.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ROOT } from '../support/processes.js';

/** A file of the repository, as text. */
export function readRepoFile(rel: string): string {
  return readFileSync(join(ROOT, rel), 'utf8');
}

/** The command `npm start` ends with, as argv: "npm run build && node dist/main.js" -> ["node", "dist/main.js"]. */
export function startCommand(): string[] {
  const pkg = JSON.parse(readRepoFile('package.json')) as { scripts: Record<string, string> };
  return (pkg.scripts.start ?? '').split('&&').at(-1)!.trim().split(/\s+/);
}

// ------------------------------------------------------------------ Dockerfile

/** One instruction: its keyword (upper case), its arguments, and the exec form when they are a JSON array. */
export interface Instruction {
  keyword: string;
  args: string;
  exec: string[] | undefined;
}

/** One build stage: `FROM <image> AS <name>` and what follows. */
export interface Stage {
  name: string | undefined;
  image: string;
  instructions: Instruction[];
}

/** ARGs before the first FROM (with their defaults), and the stages. */
export interface Dockerfile {
  globalArgs: Record<string, string>;
  stages: Stage[];
}

/** Reads a Dockerfile: comment lines dropped, continuation lines joined, one instruction a line. */
export function parseDockerfile(text: string): Dockerfile {
  const lines = text.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n').replace(/\\\r?\n/g, ' ')
    .split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const out: Dockerfile = { globalArgs: {}, stages: [] };
  for (const line of lines) {
    const [, word, args] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (word === undefined || args === undefined) throw new Error(`Dockerfile: cannot read "${line}"`);
    const keyword = word.toUpperCase();
    if (keyword === 'FROM') {
      const [, image, name] = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? [];
      if (image === undefined) throw new Error(`Dockerfile: bad FROM "${line}"`);
      out.stages.push({ image, name, instructions: [] });
    } else if (out.stages.length === 0) {
      const [, arg, value] = /^ARG\s+(\w+)(?:=(.*))?$/i.exec(line) ?? [];
      if (arg === undefined) throw new Error(`Dockerfile: ${keyword} before FROM`);
      out.globalArgs[arg] = value ?? '';
    } else {
      const exec = args.startsWith('[') ? (JSON.parse(args) as string[]) : undefined;
      out.stages.at(-1)!.instructions.push({ keyword, args, exec });
    }
  }
  return out;
}

/** `ENV A=1 B="two words"` as a map. */
export function envOf(instr: Instruction): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [, k, v] of instr.args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)) env[k!] = v!.startsWith('"') ? (JSON.parse(v!) as string) : v!;
  return env;
}

/** Splits `COPY [--flag=value…] src… dest` into flags, sources and destination. */
export function copyParts(instr: Instruction): { flags: Record<string, string>; sources: string[]; dest: string } {
  const words = instr.exec ?? instr.args.split(/\s+/);
  const flags: Record<string, string> = {};
  while (words[0]?.startsWith('--')) {
    const [, k, v] = /^--([\w-]+)(?:=(.*))?$/.exec(words.shift()!)!;
    flags[k!] = v ?? 'true';
  }
  if (words.length < 2) throw new Error(`COPY needs a source and a destination: ${instr.args}`);
  return { flags, sources: words.slice(0, -1), dest: words.at(-1)! };
}

/** The non-comment lines of a .dockerignore. */
export function dockerignorePatterns(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

/** True when .dockerignore patterns (`*`, `**`, `?`, `!` exceptions; last match wins) exclude `path` or a parent of it. */
export function dockerIgnored(patterns: string[], path: string): boolean {
  const toRegex = (p: string): RegExp => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*\*\/?/g, '\u0000').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]').replace(/\u0000/g, '.*')}$`);
  const parts = path.replace(/^\.\//, '').replace(/\/$/, '').split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const re = toRegex((negated ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, ''));
    if (candidates.some((c) => re.test(c))) ignored = !negated;
  }
  return ignored;
}

// --------------------------------------------------------------------- compose

/** The shell environment a compose file is interpolated with. */
export type Env = Record<string, string | undefined>;

/** Compose variable interpolation: $$, $VAR, ${VAR}, ${VAR:-def}, ${VAR-def}, ${VAR:?err}, ${VAR?err}. */
export function interpolate(s: string, env: Env): string {
  return s.replace(/\$\$|\$\{(\w+)(?:(:-|-|:\?|\?)([^}]*))?\}|\$(\w+)/g, (match, name?: string, op?: string, arg?: string, bare?: string) => {
    if (match === '$$') return '$';
    const key = (name ?? bare)!;
    const value = env[key];
    const unset = op?.startsWith(':') ? value === undefined || value === '' : value === undefined;
    if (op !== undefined && unset && op.endsWith('?')) throw new Error(`required variable ${key} is missing a value: ${arg}`);
    if (op !== undefined && unset) return arg!;
    return value ?? '';
  });
}

/** What the checks read of a compose service. */
export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | { target: number; published: number | string })[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] | string };
  volumes?: (string | { source: string; target: string })[];
  stop_signal?: string;
  stop_grace_period?: string;
  [k: string]: unknown;
}

/** A compose project: its services by name. */
export interface ComposeFile {
  services: Record<string, ComposeService>;
}

/** Keys whose sequences compose merges (rather than replaces) across files; this reader refuses to guess. */
const MERGED_SEQUENCES = new Set(['ports', 'volumes', 'expose', 'dns', 'cap_add', 'cap_drop']);

/** `docker compose -f base -f over` for what these files use: maps merge key by key, anything else is replaced. */
function merge(base: unknown, over: unknown, key = ''): unknown {
  const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (Array.isArray(base) && MERGED_SEQUENCES.has(key)) throw new Error(`compose: an override of "${key}" is not supported here`);
  if (!isMap(base) || !isMap(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? merge(base[k], v, k) : v;
  return out;
}

/** Loads compose files (later ones override earlier ones), interpolated with `env` as the shell environment. */
export function loadCompose(files: string[], env: Env): ComposeFile {
  let merged: unknown = {};
  for (const f of files) {
    const doc: unknown = parseYaml(readRepoFile(f), (_key, value) => (typeof value === 'string' ? interpolate(value, env) : value));
    merged = merge(merged, doc);
  }
  const c = merged as ComposeFile;
  if (typeof c.services !== 'object' || c.services === null) throw new Error(`${files.join(' + ')}: no services`);
  return c;
}

/** A service's environment as strings (map or list form). */
export function environmentOf(svc: Pick<ComposeService, 'environment'>): Record<string, string> {
  const e = svc.environment ?? {};
  if (!Array.isArray(e)) return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v === null ? '' : String(v)]));
  return Object.fromEntries(e.map((item) => {
    const i = item.indexOf('=');
    if (i < 0) throw new Error(`environment entry without a value: ${item}`);
    return [item.slice(0, i), item.slice(i + 1)];
  }));
}

/** A service's command as argv. */
export function commandOf(svc: ComposeService): string[] | undefined {
  return typeof svc.command === 'string' ? svc.command.split(/\s+/) : svc.command;
}

const MS_PER_UNIT: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A compose duration ("15s", "1m30s", "500ms") in milliseconds. */
export function durationMs(s: string): number {
  if (!/^(\d+(\.\d+)?(us|ms|s|m|h))+$/.test(s)) throw new Error(`not a duration: ${s}`);
  return [...s.matchAll(/(\d+(?:\.\d+)?)(us|ms|s|m|h)/g)].reduce((sum, [, n, unit]) => sum + Number(n) * MS_PER_UNIT[unit!]!, 0);
}

// ----------------------------------------------------------------- .env.example

/** One assignment of .env.example with the comment lines right above it. */
export interface EnvExampleEntry {
  key: string;
  value: string;
  comment: string[];
}

/** Reads .env.example: KEY=VALUE lines, each with its comment block (a blank line ends a block). */
export function parseEnvExample(text: string): EnvExampleEntry[] {
  const entries: EnvExampleEntry[] = [];
  let comment: string[] = [];
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line === '') comment = [];
    else if (line.startsWith('#')) comment.push(line.replace(/^#\s?/, ''));
    else {
      const [, key, value] = /^(\w+)=(.*)$/.exec(line) ?? [];
      if (key === undefined) throw new Error(`.env.example: not KEY=VALUE: "${line}"`);
      entries.push({ key, value: value!.replace(/^(["'])(.*)\1$/, '$2'), comment });
      comment = [];
    }
  }
  return entries;
}

// ----------------------------------------------------------------------- nginx

/** The body of the first block whose header matches (comments stripped, braces matched). */
export function nginxBlock(conf: string, header: RegExp): string {
  const text = conf.replace(/#[^\n]*/g, '');
  const m = header.exec(text);
  if (!m) throw new Error(`nginx.conf: no block ${header}`);
  const start = text.indexOf('{', m.index);
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(start + 1, i);
  }
  throw new Error(`nginx.conf: unbalanced block ${header}`);
}

/** The directives at the top level of a block body (nested blocks skipped), each as [name, ...args]. */
export function nginxDirectives(body: string): string[][] {
  const out: string[][] = [];
  let depth = 0;
  let cur = '';
  for (const ch of body.replace(/#[^\n]*/g, '')) {
    if (ch === '{' || ch === '}') {
      depth += ch === '{' ? 1 : -1;
      cur = '';
    } else if (depth === 0 && ch === ';') {
      const words = cur.trim().match(/"[^"]*"|'[^']*'|\S+/g) ?? [];
      if (words.length > 0) out.push(words);
      cur = '';
    } else if (depth === 0) cur += ch;
  }
  return out;
}

/** An nginx time ("1h", "75s", "500ms", "60") in milliseconds. */
export function nginxTimeMs(s: string): number {
  const [, n, unit] = /^(\d+)(ms|s|m|h|d)?$/.exec(s) ?? [];
  if (n === undefined) throw new Error(`not an nginx time: ${s}`);
  return Number(n) * MS_PER_UNIT[unit ?? 's']!;
}

/**
 * The nginx.conf the tests run: deploy/nginx/nginx.conf with only the upstream addresses
 * (`server <name>:3000`) and the `listen 8080;` port replaced; every other line, every SSE
 * directive included, is the file as committed.
 */
export function nginxConfForTest(conf: string, upstreams: Record<string, string>, listen: string): string {
  const replaceOnce = (text: string, re: RegExp, by: string, what: string): string => {
    const hits = text.match(re)?.length ?? 0;
    if (hits !== 1) throw new Error(`nginx.conf: expected one ${what}, found ${hits}`);
    return text.replace(re, by);
  };
  let out = conf;
  for (const [name, addr] of Object.entries(upstreams)) {
    out = replaceOnce(out, new RegExp(`^(\\s*server\\s+)${name.replace(/[.-]/g, '\\$&')}:\\d+(?=[\\s;])`, 'gm'), `$1${addr}`, `"server ${name}:<port>"`);
  }
  return replaceOnce(out, /^(\s*listen\s+)8080(?=\s*;)/gm, `$1${listen}`, '"listen 8080;"');
}
