#!/usr/bin/env node
// Publishes one event to roomcast using nothing but fetch (Node 18+, no packages).
//
//   export ROOMCAST_URL=http://localhost:3000
//   export ROOMCAST_TOKEN=$(npm run -s token -- --sub billing --role publisher --ttl 1h)
//   node examples/publisher.mjs --type invoice-paid --data '{"invoice":42}' --room billing
//
// In demo mode you can log in instead of using a service token:
//   node examples/publisher.mjs --username admin --password admin --type hello --data '"hi"'
//
// Options: --url, --token (or ROOMCAST_TOKEN), --username/--password, --type (required),
// --data <JSON> (default {}), one of --room/--user/--connection (default: everyone),
// --filter key=value (repeatable: only connections whose metadata match).
// Prints the hub's answer, {"id", "recipients"}, and exits 0; on an error prints
// the hub's error body and exits 1. A network error, 429 or 503 is retried with
// the same Idempotency-Key, so a retry never publishes twice.
/* global AbortSignal */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.ROOMCAST_URL ?? 'http://localhost:3000' },
    token: { type: 'string', default: process.env.ROOMCAST_TOKEN },
    username: { type: 'string' },
    password: { type: 'string' },
    type: { type: 'string' },
    data: { type: 'string', default: '{}' },
    room: { type: 'string' },
    user: { type: 'string' },
    connection: { type: 'string' },
    filter: { type: 'string', multiple: true, default: [] },
    retries: { type: 'string', default: '3' },
  },
});

function fail(message) {
  console.error(`publisher: ${message}`);
  process.exit(1);
}

const base = opts.url.replace(/\/+$/, '');

/** POST JSON, answer [status, parsed body, response]. */
async function postJson(path, body, headers = {}) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let parsed;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    parsed = text;
  }
  return [res.status, parsed, res];
}

async function login() {
  const [status, body] = await postJson('/auth/login', { username: opts.username, password: opts.password });
  if (status !== 200) fail(`login failed (${status}): ${JSON.stringify(body)}`);
  return body.token;
}

if (!opts.type) fail('--type is required (letters, digits, _ . : -)');
let data;
try {
  data = JSON.parse(opts.data);
} catch {
  fail(`--data is not JSON: ${opts.data}`);
}

const event = { type: opts.type, data };
if (opts.room) event.room = opts.room;
if (opts.user) event.userId = opts.user;
if (opts.connection) event.connectionId = opts.connection;
if (opts.filter.length > 0) {
  event.filters = Object.fromEntries(opts.filter.map((f) => {
    const i = f.indexOf('=');
    if (i < 1) fail(`--filter wants key=value, got ${f}`);
    return [f.slice(0, i), f.slice(i + 1)];
  }));
}

const token = opts.token || (opts.username ? await login() : undefined);
if (!token) fail('no token: set ROOMCAST_TOKEN, pass --token, or --username and --password');

const idempotencyKey = randomUUID();
const attempts = Number(opts.retries) + 1;
for (let attempt = 1; ; attempt++) {
  let status;
  let body;
  let res;
  try {
    [status, body, res] = await postJson('/broadcast', event, {
      Authorization: `Bearer ${token}`,
      'Idempotency-Key': idempotencyKey,
    });
  } catch (err) {
    if (attempt >= attempts) fail(`cannot reach ${base}: ${err.cause?.message ?? err.message}`);
    await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
    continue;
  }
  if (status === 202) {
    console.log(JSON.stringify(body));
    process.exit(0);
  }
  if ((status === 429 || status === 503) && attempt < attempts) {
    const retryAfter = Number(res.headers.get('retry-after'));
    await new Promise((r) => setTimeout(r, retryAfter > 0 ? retryAfter * 1000 : 250 * 2 ** attempt));
    continue;
  }
  console.error(JSON.stringify(body));
  fail(`publish answered ${status}`);
}
