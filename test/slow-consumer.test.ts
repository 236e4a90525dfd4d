import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from './support/hub.js';
import { waitFor } from './support/wait.js';

let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub({ MAX_BUFFERED_BYTES: '65536', MAX_EVENT_BYTES: '8192' });
});
afterAll(async () => hub.close());

/** A client that sends the request and never reads a byte. */
function stalledReader(token: string): Promise<{ socket: Socket }> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(hub.url).port), '127.0.0.1', () => {
      socket.write(`GET /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nAccept: text/event-stream\r\n\r\n`);
      socket.pause();
      resolve({ socket });
    });
    socket.on('error', () => {});
    socket.once('error', reject);
  });
}

describe('slow consumers', () => {
  it('closes a reader that stops reading once its unsent bytes pass MAX_BUFFERED_BYTES; others keep receiving', async () => {
    const healthy = await hub.stream('/events', hub.token('fast-reader'));
    const stalled = await stalledReader(hub.token('slow-reader'));
    const svc = hub.token('svc', 'publisher');
    const stats = async (): Promise<{ activeUsers: number; events: { evicted: number } }> =>
      (await (await hub.call('/stats', { token: svc })).json()) as { activeUsers: number; events: { evicted: number } };
    await waitFor('the stalled reader is connected', async () => (await stats()).activeUsers === 2);
    const payload = 'x'.repeat(4000);
    let published = 0;
    // Bounded: at most 200 batches of 100 events (80 MB) before the test gives up.
    for (let batch = 0; batch < 200 && (await stats()).events.evicted === 0; batch++) {
      const events = Array.from({ length: 100 }, (_, i) => ({ type: 'load', data: { n: published + i, payload } }));
      const r = await hub.call('/broadcast/batch', { method: 'POST', token: svc, json: { events } });
      expect(r.status).toBe(202);
      published += 100;
    }
    // Evicted as soon as its unsent bytes passed the bound: well before the 200 batches ran out.
    expect(published).toBeLessThan(20_000);
    await waitFor('the stalled reader is gone', async () => (await stats()).activeUsers === 1);
    await healthy.until(() => healthy.dataOf('load').length === published, 10_000, 'every event on the healthy stream');
    expect(healthy.dataOf<{ data: { n: number } }>('load').map((e) => e.data.n)).toEqual(Array.from({ length: published }, (_, i) => i));
    expect((await stats()).events.evicted).toBe(1);
    stalled.socket.destroy();
  });
});
