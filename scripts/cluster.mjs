#!/usr/bin/env node
// A local cluster for development: N hub processes on consecutive ports, one Redis, one secret.
//
//   npm run cluster -- 3            three processes on PORT, PORT+1, PORT+2 (PORT defaults to 3000)
//   DEMO=true npm run cluster -- 2  demo users and feeds (the feeds run on one process at a time)
//
// REDIS_URL defaults to redis://127.0.0.1:6379. Without JWT_SECRET one is generated for this run
// and shared by every process (each process generating its own would make tokens node-local).
// Ctrl-C stops every process gracefully. Kill one process (its pid is printed) to watch the others
// take over its feeds and drop it from /stats within three heartbeats.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

const arg = process.argv[2] ?? '3';
if (!/^\d+$/.test(arg) || Number(arg) < 1 || Number(arg) > 64) {
  process.stderr.write(`usage: npm run cluster -- <processes 1..64>  (got "${arg}")\n`);
  process.exit(64);
}
const count = Number(arg);
if (!existsSync(MAIN)) {
  process.stderr.write('dist/main.js is missing: run `npm run build` first (npm run cluster does)\n');
  process.exit(1);
}
if (existsSync(`${ROOT}.env`)) process.loadEnvFile(`${ROOT}.env`);

const basePort = Number(process.env.PORT ?? 3000);
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
let secret = process.env.JWT_SECRET;
if (!secret) {
  secret = randomBytes(48).toString('base64url');
  process.stderr.write('cluster: JWT_SECRET is not set; generated one for this run, shared by every process:\n' +
    `  export JWT_SECRET='${secret}'   # to mint tokens with npm run token\n`);
}

const children = new Map();
let stopping = false;

function start(i) {
  const port = basePort + i;
  const nodeId = `dev-${port}`;
  const child = spawn(process.execPath, [MAIN], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), NODE_ID: nodeId, REDIS_URL: redisUrl, JWT_SECRET: secret, WORKERS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.set(nodeId, child);
  const tag = `[${nodeId}] `;
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) process.stdout.write(`${tag}${line}\n`);
    });
  }
  child.on('exit', (code, signal) => {
    children.delete(nodeId);
    process.stdout.write(`${tag}exited (${signal ?? code})\n`);
    if (stopping && children.size === 0) process.exit(0);
    if (!stopping && children.size === 0) process.exit(1);
  });
  process.stdout.write(`${tag}pid ${child.pid} on http://127.0.0.1:${port}\n`);
}

process.stdout.write(`cluster: ${count} process(es) on ports ${basePort}..${basePort + count - 1}, Redis ${redisUrl}, prefix ${process.env.REDIS_PREFIX || 'roomcast:'}\n`);
for (let i = 0; i < count; i++) start(i);

function stop(signal) {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`cluster: ${signal}: stopping ${children.size} process(es)\n`);
  for (const child of children.values()) child.kill('SIGTERM');
  const timeout = Number(process.env.SHUTDOWN_TIMEOUT_MS ?? 10_000) + 2000;
  setTimeout(() => {
    for (const child of children.values()) child.kill('SIGKILL');
    process.exit(1);
  }, timeout).unref();
  if (children.size === 0) process.exit(0);
}
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
