// RoomcastPublisher through a fault-injecting proxy in front of a real hub: a publish whose
// answer is lost, or that meets a 503 with Retry-After, is retried with the same Idempotency-Key
// and delivered once; a batch too; a refusal is not retried.
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoomcastClient } from '../../src/client/client.js';
import { RoomcastError } from '../../src/client/errors.js';
import { RoomcastPublisher } from '../../src/client/publisher.js';
import type { Subscription } from '../../src/client/subscription.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { record, type Recorder } from './support.js';

/** What the proxy does with one request. */
type Fault = 'pass' | 'drop-answer' | 'unavailable';

/** A proxy to the hub that applies the next queued fault to each request (then passes). */
interface FaultProxy {
  url: string;
  faults: Fault[];
  /** Each request's method, path and Idempotency-Key, and what was done with it. */
  seen: { path: string; key: string | undefined; fault: Fault }[];
  close(): Promise<void>;
}

async function faultProxy(target: string): Promise<FaultProxy> {
  const up = new URL(target);
  const proxy: FaultProxy = { url: '', faults: [], seen: [], close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const fault = proxy.faults.shift() ?? 'pass';
    proxy.seen.push({ path: req.url ?? '', key: req.headers['idempotency-key'] as string | undefined, fault });
    if (fault === 'unavailable') {
      req.resume();
      res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '1' })
        .end('{"error":{"code":"unavailable","message":"injected"}}');
      return;
    }
    const fwd = request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers }, (answer: IncomingMessage) => {
      if (fault === 'drop-answer') {
        // The hub has published and answered; the publisher never hears of it.
        answer.resume();
        answer.on('end', () => req.socket.destroy());
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    fwd.on('error', () => res.destroy());
    req.pipe(fwd);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
  return proxy;
}

let hub: TestHub;
let proxy: FaultProxy;
let client: RoomcastClient;
let sub: Subscription;
let rec: Recorder;
let publisher: RoomcastPublisher;
let direct: RoomcastPublisher;

beforeAll(async () => {
  hub = await startTestHub();
  proxy = await faultProxy(hub.url);
  client = new RoomcastClient({ url: hub.url, token: hub.token('alice') });
  sub = client.subscribe();
  rec = record(sub);
  await rec.until('open', () => sub.state === 'open');
  const token = hub.token('billing', 'publisher');
  publisher = new RoomcastPublisher({ url: proxy.url, token, backoff: { baseMs: 50 } });
  direct = new RoomcastPublisher({ url: hub.url, token });
});

afterAll(async () => {
  client?.close();
  await proxy?.close();
  await hub?.close();
});

/** Publishes a marker straight to the hub and waits for it: every earlier event has arrived by then. */
async function drain(): Promise<void> {
  const { id } = await direct.publish({ type: 'marker' });
  await rec.until('the marker', () => rec.events.some((e) => e.id === id));
}

const ofType = (type: string): string[] => rec.events.filter((e) => e.type === type).map((e) => e.id);

describe('RoomcastPublisher through faults', () => {
  it('retries a publish whose answer was lost, with the same key, and it is delivered once', async () => {
    proxy.faults.push('drop-answer');
    proxy.seen.length = 0;
    const { id, recipients } = await publisher.publish({ type: 'order-shipped', data: { order: 1 }, userId: 'alice' });
    await drain();
    expect(ofType('order-shipped')).toEqual([id]);
    expect(recipients).toBe(1);
    expect(proxy.seen.map((s) => s.fault)).toEqual(['drop-answer', 'pass']);
    expect(proxy.seen[0]?.key).toMatch(/^rc-[0-9a-f]{32}$/);
    expect(proxy.seen[1]?.key).toBe(proxy.seen[0]?.key);
  });

  it('waits out a 503 (Retry-After) and a lost answer in a row, and still delivers once', async () => {
    proxy.faults.push('unavailable', 'drop-answer');
    proxy.seen.length = 0;
    const { id } = await publisher.publish({ type: 'invoice', data: { n: 2 } });
    await drain();
    expect(ofType('invoice')).toEqual([id]);
    expect(proxy.seen.map((s) => s.fault)).toEqual(['unavailable', 'drop-answer', 'pass']);
    expect(new Set(proxy.seen.map((s) => s.key)).size).toBe(1);
  });

  it('delivers a batch whose answer was lost once, ids in order', async () => {
    proxy.faults.push('drop-answer');
    proxy.seen.length = 0;
    const { ids } = await publisher.publishBatch([1, 2, 3].map((n) => ({ type: 'line', data: { n } })));
    await drain();
    expect(ofType('line')).toEqual(ids);
    expect(rec.events.filter((e) => e.type === 'line').map((e) => (e.data as { n: number }).n)).toEqual([1, 2, 3]);
    expect(proxy.seen.map((s) => s.path)).toEqual(['/broadcast/batch', '/broadcast/batch']);
    expect(proxy.seen[1]?.key).toBe(proxy.seen[0]?.key);
  });

  it('gives each publish its own key, and does not retry a refusal', async () => {
    proxy.seen.length = 0;
    await publisher.publish({ type: 'a' });
    await publisher.publish({ type: 'a' });
    expect(proxy.seen[0]?.key).not.toBe(proxy.seen[1]?.key);
    proxy.seen.length = 0;
    const err = await publisher.publish({ type: 'not a type!' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RoomcastError);
    expect((err as RoomcastError).code).toBe('invalid_request');
    expect((err as RoomcastError).status).toBe(400);
    expect(proxy.seen).toHaveLength(1);
  });

  it('gives up after maxAttempts when the hub stays unavailable, with the 503 as the error', async () => {
    const impatient = new RoomcastPublisher({ url: proxy.url, token: hub.token('billing', 'publisher'), maxAttempts: 2 });
    proxy.faults.push('unavailable', 'unavailable');
    proxy.seen.length = 0;
    const err = await impatient.publish({ type: 'never' }).catch((e: unknown) => e);
    expect((err as RoomcastError).status).toBe(503);
    expect(proxy.seen).toHaveLength(2);
    await drain();
    expect(ofType('never')).toEqual([]);
  });
});
