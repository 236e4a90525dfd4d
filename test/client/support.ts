// Helpers for the client library's tests: a scripted SSE server (to drive the protocol's edge
// cases over a real socket) and a recorder of everything a subscription emits.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Subscription } from '../../src/client/subscription.js';
import type { RoomcastEvent } from '../../src/client/types.js';
import { waitFor } from '../support/wait.js';

/** Answers the n-th request (0-based) to the scripted server. */
export type Script = (n: number, req: IncomingMessage, res: ServerResponse) => void;

/** A server on 127.0.0.1 that answers each request with the script, and remembers the requests. */
export interface ScriptedServer {
  url: string;
  requests: IncomingMessage[];
  close(): Promise<void>;
}

/** Starts a scripted server. */
export async function scriptedServer(script: Script): Promise<ScriptedServer> {
  const requests: IncomingMessage[] = [];
  const open = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    open.add(res);
    res.on('close', () => open.delete(res));
    script(requests.push(req) - 1, req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: async () => {
      for (const res of open) res.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Starts an event stream answer. */
export function sseHead(res: ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache' });
}

/** A `connected` frame as the hub writes it. */
export function connectedFrame(connectionId = 'c1'): string {
  return `event: connected\ndata: ${JSON.stringify({ connectionId, userId: 'alice', role: 'user', rooms: ['user:alice'], nodeId: 'n', serverTime: new Date().toISOString() })}\n\n`;
}

/** A published event frame with a 16-digit id made from `n`. */
export function eventFrame(n: number, type = 'news', data: unknown = { n }): string {
  const id = String(n).padStart(16, '0');
  return `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify({ id, type, data, room: null, userId: null, sender: 'svc', timestamp: new Date().toISOString() })}\n\n`;
}

/** A JSON error answer. */
export function errorAnswer(res: ServerResponse, status: number, code: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify({ error: { code, message: code } }));
}

/** Everything one subscription emitted, in order. */
export interface Recorder {
  states: string[];
  events: RoomcastEvent[];
  errors: { code: string; status: number }[];
  log: string[];
  /** Waits (bounded) until `pred` holds. */
  until(what: string, pred: () => boolean, timeoutMs?: number): Promise<void>;
}

/** Records a subscription's states, published events, errors and control events. */
export function record(sub: Subscription): Recorder {
  const rec: Recorder = {
    states: [], events: [], errors: [], log: [],
    until: async (what, pred, timeoutMs = 10_000) => {
      await waitFor(what, () => pred() || undefined, timeoutMs, 10);
    },
  };
  sub.on('state', (s) => rec.states.push(s));
  sub.on('event', (e) => rec.events.push(e));
  sub.on('error', (e) => rec.errors.push({ code: e.code, status: e.status }));
  for (const name of ['connected', 'gap', 'shutdown', 'room-joined', 'room-left', 'presence-join', 'presence-leave', 'token-expired', 'token-revoked', 'disconnected'] as const) {
    sub.on(name, () => rec.log.push(name));
  }
  return rec;
}

/** The `n` of each recorded event's data. */
export function ns(rec: Recorder): number[] {
  return rec.events.map((e) => (e.data as { n: number }).n);
}
