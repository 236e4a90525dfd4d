/** Readers of single environment variables, each failing with a ConfigError naming the variable. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { ConfigError } from './config-error.js';

/** Open-file limit assumed where the process cannot read its own (not Linux). */
const FALLBACK_OPEN_FILES = 1024;

/** The environment, as loadConfig reads it. */
export type Env = Record<string, string | undefined>;

/** A whole-number variable within [min, max]. */
export function intVar(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return def;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const n = Number(raw.trim());
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** A true/false variable. */
export function boolVar(env: Env, name: string, def: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return def;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${env[name]}"`);
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Parses `3600`, `90s`, `15m`, `12h` or `30d` into seconds; undefined when malformed. */
export function parseDurationSec(raw: string): number | undefined {
  const m = /^(\d+)\s*([smhd]?)$/.exec(raw.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * (DURATION_UNITS[m[2] || 's'] ?? 1);
  return n > 0 ? n : undefined;
}

/** A duration variable (`3600`, `15m`, `12h`, `30d`) in seconds. */
export function durationVar(env: Env, name: string, defSec: number): number {
  const raw = env[name]?.trim();
  if (!raw) return defSec;
  const parsed = parseDurationSec(raw);
  if (parsed === undefined) throw new ConfigError(name, `must be seconds or a duration like 15m, 12h, 30d; got "${raw}"`);
  return parsed;
}

/** This process's soft limit on open files (Linux: /proc/self/limits). */
export function openFileLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = Number(line?.split(/\s{2,}/)[1]);
    return Number.isFinite(soft) && soft > 0 ? soft : FALLBACK_OPEN_FILES;
  } catch {
    return FALLBACK_OPEN_FILES;
  }
}


/**
 * Reads `.env` (or `path`) into process.env when it exists; variables already set win. Fails with a
 * ConfigError naming the file when it is not a readable file (a directory, say).
 */
export function loadEnvFile(path = '.env'): void {
  if (!existsSync(path)) return;
  if (!statSync(path).isFile()) throw new ConfigError(path, 'is not a file (remove it or make it a file of VAR=value lines)');
  try {
    process.loadEnvFile(path);
  } catch (err) {
    throw new ConfigError(path, `cannot be read: ${(err as Error).message}`);
  }
}
