// A hub on Redis restarted on the same port under a RoomcastClient: events published while it was
// down (through another process of the hub, and by a RoomcastPublisher that kept retrying the
// stopped one) reach the subscription once each, in order, with no gap.
import { afterAll, describe, expect, it } from 'vitest';
import { RoomcastClient } from '../../src/client/client.js';
import { RoomcastPublisher } from '../../src/client/publisher.js';
import { freePort } from '../support/net.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { deletePrefix, newPrefix, REDIS_URL } from '../support/redis-keys.js';
import { record } from './support.js';

const prefix = newPrefix('client-restart');
const hubs: TestHub[] = [];
let client: RoomcastClient | undefined;

afterAll(async () => {
  client?.close();
  await Promise.all(hubs.map((h) => h.close().catch(() => undefined)));
  await deletePrefix(prefix);
});

async function hub(env: Record<string, string>): Promise<TestHub> {
  const h = await startTestHub({ REDIS_URL, REDIS_PREFIX: prefix, RETRY_MS: '300', ...env });
  hubs.push(h);
  return h;
}

describe('a hub restarted on Redis', () => {
  it('hands the subscription every event published while it was down, once each, in order', async () => {
    const port = await freePort();
    let a = await hub({ PORT: String(port) });
    const admin = a.token('ops', 'admin');
    client = new RoomcastClient({ url: a.url, token: a.token('alice'), backoff: { maxMs: 1000 } });
    const sub = client.subscribe({ rooms: ['news'] });
    const rec = record(sub);
    await rec.until('open', () => sub.state === 'open');

    const published: string[] = [];
    const direct = new RoomcastPublisher({ url: a.url, token: admin });
    published.push((await direct.publish({ type: 'news', data: { n: 'before' }, room: 'news' })).id);
    await rec.until('the first event', () => rec.events.length === 1);

    await a.close();
    await rec.until('shutdown and a reconnect under way', () => rec.log.includes('shutdown') && sub.state === 'reconnecting');

    // Another process of the same hub takes publishes meanwhile.
    const b = await hub({});
    const viaB = new RoomcastPublisher({ url: b.url, token: admin });
    for (const n of [1, 2, 3]) published.push((await viaB.publish({ type: 'news', data: { n }, room: 'news' })).id);
    const batch = await viaB.publishBatch([{ type: 'news', data: { n: 4 }, room: 'news' }, { type: 'news', data: { n: 5 } }]);
    published.push(...batch.ids);
    // A publisher of the stopped process retries (connection refused) until it is back.
    const retrying = direct.publish({ type: 'news', data: { n: 'retried' }, room: 'news' }, { signal: AbortSignal.timeout(20_000) });

    a = await hub({ PORT: String(port) });
    published.push((await retrying).id);
    await rec.until('every event', () => rec.events.length === published.length);
    // A marker after them: anything sent twice would have arrived before it.
    published.push((await viaB.publish({ type: 'news', data: { n: 'marker' }, room: 'news' })).id);
    await rec.until('the marker', () => rec.events.some((e) => (e.data as { n: unknown }).n === 'marker'));

    expect(rec.events.map((e) => e.id)).toEqual(published);
    expect(rec.events.map((e) => (e.data as { n: unknown }).n)).toEqual(['before', 1, 2, 3, 4, 5, 'retried', 'marker']);
    expect(sub.duplicatesDropped).toBe(0);
    expect(rec.log.filter((l) => l === 'gap')).toEqual([]);
    expect(rec.log.filter((l) => l === 'connected')).toHaveLength(2);
    expect(sub.connected?.rooms).toContain('news');
    expect(sub.state).toBe('open');
  });
});
