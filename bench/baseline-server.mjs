// The naive baseline: an SSE broadcast server written the way tutorials write it.
// A Set of responses per room in an in-memory Map, and for every event and every connection one
// JSON.stringify and one res.write. Express, like most tutorials (and like the hub).
// It speaks the subset of the roomcast contract the benchmark uses:
//   GET /events?rooms=a,b   (Bearer token or ?access_token=)  → retry, `connected`, events, `: ping`
//   POST /broadcast {type, data, room?}                        → 202 {id, recipients}
//   GET /health                                                → {status, nodeId, uptimeSec}
// Env: PORT, HOST (127.0.0.1), JWT_SECRET, HEARTBEAT_MS (15000), HISTORY_SIZE (1000).
import express from 'express';
import jwt from 'jsonwebtoken';

const PORT = Number(process.env.PORT ?? 3000);
const HOST = process.env.HOST ?? '127.0.0.1';
const SECRET = process.env.JWT_SECRET ?? '';
const HEARTBEAT_MS = Number(process.env.HEARTBEAT_MS ?? 15000);
const HISTORY_SIZE = Number(process.env.HISTORY_SIZE ?? 1000);
const nodeId = `baseline-${process.pid}`;
const started = Date.now();

const app = express();
app.use(express.json({ limit: '100kb' }));

const clients = new Set();     // every open stream's response
const rooms = new Map();       // roomId -> Set<res>
const history = [];
let lastId = 0;
let connectionSeq = 0;

function authenticate(req, res) {
  const h = req.headers.authorization;
  const token = h && h.startsWith('Bearer ') ? h.slice(7) : req.query.access_token;
  if (!token) { res.status(401).json({ error: { code: 'unauthenticated', message: 'Missing token' } }); return null; }
  try {
    return jwt.verify(String(token), SECRET, { algorithms: ['HS256'] });
  } catch {
    res.status(401).json({ error: { code: 'unauthenticated', message: 'Invalid token' } });
    return null;
  }
}

app.get('/health', (_req, res) => {
  res.json({ status: 'ok', nodeId, uptimeSec: Math.round((Date.now() - started) / 1000) });
});

app.get('/events', (req, res) => {
  const user = authenticate(req, res);
  if (!user) return;
  const roomIds = String(req.query.rooms ?? '').split(',').filter(Boolean);
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.write('retry: 3000\n\n');
  const connectionId = `c${++connectionSeq}`;
  res.write(`event: connected\ndata: ${JSON.stringify({ connectionId, userId: user.sub, role: user.role, rooms: roomIds, nodeId, serverTime: new Date().toISOString() })}\n\n`);
  clients.add(res);
  for (const r of roomIds) {
    if (!rooms.has(r)) rooms.set(r, new Set());
    rooms.get(r).add(res);
  }
  req.on('close', () => {
    clients.delete(res);
    for (const r of roomIds) rooms.get(r)?.delete(res);
  });
});

app.post('/broadcast', (req, res) => {
  const user = authenticate(req, res);
  if (!user) return;
  if (user.role !== 'publisher' && user.role !== 'admin') {
    res.status(403).json({ error: { code: 'forbidden', message: 'Publisher role required' } });
    return;
  }
  const { type, data, room } = req.body ?? {};
  if (typeof type !== 'string' || !type) {
    res.status(400).json({ error: { code: 'invalid_request', message: 'type is required', details: ['type'] } });
    return;
  }
  const event = {
    id: String(++lastId).padStart(16, '0'),
    type,
    data: data ?? null,
    room: room ?? null,
    userId: null,
    sender: user.sub,
    timestamp: new Date().toISOString(),
  };
  history.push(event);
  if (history.length > HISTORY_SIZE) history.shift();
  const targets = room ? (rooms.get(room) ?? new Set()) : clients;
  for (const client of targets) {
    client.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  }
  res.status(202).json({ id: event.id, recipients: targets.size });
});

setInterval(() => {
  for (const client of clients) client.write(': ping\n\n');
}, HEARTBEAT_MS);

const server = app.listen(PORT, HOST, () => {
  console.log(`baseline listening on http://${HOST}:${PORT}`);
});
server.on('error', (err) => { console.error(err); process.exit(1); });
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
