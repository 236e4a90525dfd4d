// A lower bound, not a product: the least a Node process can do per delivery. Raw `net`, no HTTP
// framework, no chunked coding (the stream is close-delimited), every event encoded once into one
// Buffer and written with one socket.write per stream. No auth beyond "a token is present".
// Used as an optional third target (`--targets=baseline,hub,floor`) to show how much of a server's
// CPU per delivery is the kernel's loopback TCP work that no user-space change removes.
import net from 'node:net';

const PORT = Number(process.env.PORT ?? 3000);
const HOST = process.env.HOST ?? '127.0.0.1';
const HEARTBEAT_MS = Number(process.env.HEARTBEAT_MS ?? 15000);
const nodeId = `floor-${process.pid}`;
const rooms = new Map();
const all = new Set();
let lastId = 0;
const PING = Buffer.from(': ping\n\n');

function reply(sock, status, body, keepAlive = true) {
  sock.write(`HTTP/1.1 ${status} X\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${keepAlive ? '' : 'Connection: close\r\n'}\r\n${body}`);
}

net.createServer((sock) => {
  sock.setNoDelay(true);
  let buf = '';
  let streaming = false;
  sock.on('error', () => {});
  sock.on('data', (d) => {
    if (streaming) return;
    buf += d.toString('latin1');
    for (let guard = 0; guard < 1000; guard++) {
      const he = buf.indexOf('\r\n\r\n');
      if (he === -1) return;
      const head = buf.slice(0, he);
      const [method, target] = head.split(' ', 2);
      const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      const len = cl ? Number(cl[1]) : 0;
      if (buf.length < he + 4 + len) return;
      const body = Buffer.from(buf.slice(he + 4, he + 4 + len), 'latin1').toString('utf8');
      buf = buf.slice(he + 4 + len);
      const url = new URL(target, 'http://x');
      if (method === 'GET' && url.pathname === '/events') {
        streaming = true;
        const roomIds = (url.searchParams.get('rooms') ?? '').split(',').filter(Boolean);
        sock.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-cache, no-transform\r\nConnection: close\r\n\r\n' +
          `retry: 3000\n\nevent: connected\ndata: ${JSON.stringify({ nodeId, rooms: roomIds })}\n\n`);
        all.add(sock);
        for (const r of roomIds) { if (!rooms.has(r)) rooms.set(r, new Set()); rooms.get(r).add(sock); }
        sock.on('close', () => { all.delete(sock); for (const r of roomIds) rooms.get(r)?.delete(sock); });
        return;
      }
      if (method === 'POST' && url.pathname === '/broadcast') {
        const m = JSON.parse(body);
        const ev = { id: String(++lastId).padStart(16, '0'), type: m.type, data: m.data ?? null, room: m.room ?? null, userId: null, sender: 'floor', timestamp: new Date().toISOString() };
        const frame = Buffer.from(`id: ${ev.id}\nevent: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`);
        const targets = ev.room ? (rooms.get(ev.room) ?? new Set()) : all;
        for (const s of targets) s.write(frame);
        reply(sock, 202, JSON.stringify({ id: ev.id, recipients: targets.size }));
        continue;
      }
      if (url.pathname === '/health' || url.pathname === '/ready') { reply(sock, 200, JSON.stringify({ status: 'ok', nodeId, uptimeSec: 0 })); continue; }
      reply(sock, 404, '{"error":{"code":"not_found","message":"Not found"}}');
    }
  });
}).listen(PORT, HOST);

setInterval(() => { for (const s of all) s.write(PING); }, HEARTBEAT_MS);
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
