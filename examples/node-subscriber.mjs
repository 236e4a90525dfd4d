#!/usr/bin/env node
// Subscribes to a roomcast stream from Node with the `eventsource` package (v4),
// sending the token in an Authorization header (not in the URL) through its
// `fetch` option. Reconnects by itself and resumes with Last-Event-ID.
//
//   npm install eventsource@4
//   export ROOMCAST_URL=http://localhost:3000
//   export ROOMCAST_TOKEN=...           # from /auth/login or `npm run token`
//   node examples/node-subscriber.mjs --rooms stocks,chat --types stock-update,chat-message
//
// EventSource delivers a named event only to listeners for that name, so say which
// event types to print with --types (the demo feeds' types by default); the hub's
// control events (connected, history-gap, room-joined, ...) are always printed.
// Each event is one JSON line on stdout: {"event", "id", "data"}. Status goes to stderr.
// --count N exits 0 after N published events; --last-event-id resumes from an id.
import { parseArgs } from 'node:util';
import { EventSource } from 'eventsource';

const CONTROL_EVENTS = [
  'connected', 'history-gap', 'room-joined', 'room-left', 'presence-join', 'presence-leave', 'token-expired', 'shutdown',
];

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.ROOMCAST_URL ?? 'http://localhost:3000' },
    token: { type: 'string', default: process.env.ROOMCAST_TOKEN },
    rooms: { type: 'string', default: '' },
    types: { type: 'string', default: 'time,stock-update,chat-message' },
    meta: { type: 'string', multiple: true, default: [] },
    'last-event-id': { type: 'string' },
    count: { type: 'string' },
  },
});

if (!opts.token) {
  console.error('node-subscriber: set ROOMCAST_TOKEN or pass --token');
  process.exit(1);
}

const url = new URL('/events', opts.url);
if (opts.rooms) url.searchParams.set('rooms', opts.rooms);
if (opts['last-event-id']) url.searchParams.set('lastEventId', opts['last-event-id']);
for (const m of opts.meta) {
  const i = m.indexOf('=');
  if (i > 0) url.searchParams.set(`meta.${m.slice(0, i)}`, m.slice(i + 1));
}

const limit = opts.count === undefined ? Infinity : Number(opts.count);
let received = 0;

const es = new EventSource(url, {
  // Every (re)connection goes through this fetch: add the header here. The
  // library adds Accept and, on reconnects, Last-Event-ID to init.headers.
  fetch: (input, init) => fetch(input, {
    ...init,
    headers: { ...init.headers, Authorization: `Bearer ${opts.token}` },
  }),
});

function print(e) {
  let data = e.data;
  try {
    data = JSON.parse(e.data);
  } catch {
    // not JSON: print the raw string
  }
  console.log(JSON.stringify({ event: e.type, id: e.lastEventId || null, data }));
}

for (const type of CONTROL_EVENTS) {
  es.addEventListener(type, (e) => {
    print(e);
    if (type === 'connected') console.error(`node-subscriber: connected to ${JSON.parse(e.data).nodeId}`);
    if (type === 'token-expired') {
      console.error('node-subscriber: token expired; get a new one and start again');
      es.close();
      process.exit(2);
    }
  });
}

const published = opts.types.split(',').map((t) => t.trim()).filter(Boolean);
for (const type of published) {
  es.addEventListener(type, (e) => {
    print(e);
    if (++received >= limit) {
      es.close();
      process.exit(0);
    }
  });
}

es.addEventListener('error', (e) => {
  // 401/403/429 close the source for good (code set); anything else reconnects.
  if (es.readyState === EventSource.CLOSED) {
    console.error(`node-subscriber: stream closed: ${e.message ?? ''} ${e.code ?? ''}`.trim());
    process.exit(1);
  }
  console.error('node-subscriber: connection lost; reconnecting');
});

const stop = () => {
  es.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
