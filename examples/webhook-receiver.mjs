#!/usr/bin/env node
// Receives roomcast's webhooks (room.occupied, room.vacated, presence.join, presence.leave) with
// nothing but Node's standard library, and shows what a receiver must do with each POST:
//   1. refuse a stale X-Roomcast-Timestamp (a replayed capture of an old POST),
//   2. check X-Roomcast-Signature, the HMAC-SHA256 of "<timestamp>.<raw body>" keyed with the
//      shared secret, comparing in constant time (crypto.timingSafeEqual),
//   3. drop events whose id it already handled (delivery is at least once: a retried POST
//      repeats its events with the same ids),
//   4. answer 2xx quickly (roomcast retries anything else, and waits at most 5 s).
//
//   export WEBHOOK_SECRET=...   # the hub's WEBHOOK_SECRET, at least 32 bytes
//   node examples/webhook-receiver.mjs --port 4000
//   # and run the hub with WEBHOOK_URL=http://127.0.0.1:4000/roomcast/webhooks
//
// Options: --port (default 4000), --host (default 127.0.0.1), --path (default
// /roomcast/webhooks), --max-age seconds a timestamp may be old (default 300).
// Each new event is one JSON line on stdout: {"id", "type", "roomId", "userId"?, "timestamp"}.
// Status goes to stderr.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string', default: '4000' },
    host: { type: 'string', default: '127.0.0.1' },
    path: { type: 'string', default: '/roomcast/webhooks' },
    'max-age': { type: 'string', default: '300' },
  },
});

const secret = process.env.WEBHOOK_SECRET ?? '';
if (Buffer.byteLength(secret) < 32) {
  console.error('webhook-receiver: set WEBHOOK_SECRET to the hub\'s secret (at least 32 bytes)');
  process.exit(1);
}
const maxAgeSec = Number(opts['max-age']);
/** A POST body is at most 100 events: far below this. */
const MAX_BODY_BYTES = 1 << 20;
/** Ids remembered for dropping repeats; the oldest are forgotten first. */
const REMEMBERED_IDS = 100_000;
const seen = new Set();

/** True when `header` is the signature of this timestamp and body, compared in constant time. */
function signatureMatches(timestamp, body, header) {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`);
  const given = Buffer.from(header ?? '');
  // timingSafeEqual needs equal lengths; a length mismatch says nothing about the secret.
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function answer(res, status, message) {
  res.writeHead(status, { 'content-type': 'text/plain' }).end(message);
}

/** Handles one event once; here it is printed, a real backend updates its state. */
function handle(event) {
  if (seen.has(event.id)) return;
  seen.add(event.id);
  if (seen.size > REMEMBERED_IDS) seen.delete(seen.values().next().value);
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== opts.path) return answer(res, 404, 'not found');
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) req.destroy();
    else chunks.push(chunk);
  });
  req.on('end', () => {
    // The raw bytes are what was signed: verify them before parsing anything.
    const body = Buffer.concat(chunks);
    const timestamp = String(req.headers['x-roomcast-timestamp'] ?? '');
    const age = Math.floor(Date.now() / 1000) - Number(timestamp);
    if (!/^\d+$/.test(timestamp) || Math.abs(age) > maxAgeSec) return answer(res, 401, 'stale or missing timestamp');
    if (!signatureMatches(timestamp, body, req.headers['x-roomcast-signature'])) return answer(res, 401, 'bad signature');
    let events;
    try {
      ({ events } = JSON.parse(body.toString('utf8')));
    } catch {
      return answer(res, 400, 'not JSON');
    }
    if (!Array.isArray(events)) return answer(res, 400, 'no events');
    for (const event of events) handle(event);
    res.writeHead(204).end();
  });
});

server.listen(Number(opts.port), opts.host, () => {
  console.error(`webhook-receiver: listening on http://${opts.host}:${server.address().port}${opts.path}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
