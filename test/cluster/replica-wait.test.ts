// REDIS_WAIT_REPLICAS: a publish is answered 202 only once a replica has it. When the replica does
// not answer in time (here: stopped with SIGSTOP) the publish is answered 503 with Retry-After,
// though the event was stored and delivered; a retry with the same Idempotency-Key confirms that
// same event once the replica is back, and never publishes it a second time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub.js';
import { startRedisServer, type RedisServer } from '../support/redis-topology.js';
import type { RawStream } from '../support/sse-client.js';
import { mint } from '../support/tokens.js';

let primary: RedisServer | undefined;
let replica: RedisServer | undefined;
let hub: TestHub | undefined;

beforeAll(async () => {
  primary = await startRedisServer();
  replica = await startRedisServer({ replicaof: primary });
  hub = await startTestHub({ REDIS_URL: primary.url, REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '300', HEARTBEAT_MS: '500' });
}, 30_000);

afterAll(async () => {
  if (replica) process.kill(replica.pid, 'SIGCONT');
  await hub?.close();
  await replica?.stop();
  await primary?.stop();
}, 30_000);

const publish = (key: string, data: unknown): Promise<Response> =>
  hub!.call('/broadcast/room/w-room', { method: 'POST', token: mint('svc', 'publisher'), json: { type: 'w', data }, headers: { 'Idempotency-Key': key } });

/** Retries 503s with the same key (bounded), as a publisher does. */
async function publishUntilAccepted(key: string, data: unknown): Promise<Response> {
  let r = await publish(key, data);
  for (let i = 0; i < 50 && r.status === 503; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    r = await publish(key, data);
  }
  return r;
}

const dataOf = (s: RawStream): unknown[] => s.dataOf<{ data: unknown }>('w').map((e) => e.data);

describe('REDIS_WAIT_REPLICAS=1', () => {
  it('answers 503 with Retry-After until a replica has the event; the retry with the same key confirms it, publishing it once', async () => {
    const s = await hub!.stream('/events?rooms=w-room', mint('w-user'));
    // 202 once the replica has synced (until then the same key is retried).
    expect((await publishUntilAccepted('w-1', 'first')).status).toBe(202);

    process.kill(replica!.pid, 'SIGSTOP');
    const refused = await publish('w-2', 'second');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toMatchObject({ error: { code: 'unavailable' } });
    // Stored and delivered all the same (the contract says it may be), under one id.
    await s.until(() => dataOf(s).includes('second'), 5000, 'the unconfirmed event');
    const secondId = s.events.find((f) => f.data?.includes('"second"'))?.id;
    // Still no replica: the retry is refused again, and publishes nothing new.
    expect((await publish('w-2', 'second')).status).toBe(503);

    process.kill(replica!.pid, 'SIGCONT');
    const retried = await publishUntilAccepted('w-2', 'second');
    expect(retried.status).toBe(202);
    expect((await retried.json()).id).toBe(secondId);

    const marker = await publish('w-3', 'marker');
    expect(marker.status).toBe(202);
    await s.until(() => dataOf(s).includes('marker'), 5000, 'the marker');
    expect(dataOf(s)).toEqual(['first', 'second', 'marker']);
    const history = await hub!.call('/events/history?room=w-room&limit=100', { token: mint('ops', 'admin') });
    expect(((await history.json()) as { events: { data: unknown }[] }).events.map((e) => e.data)).toEqual(['first', 'second', 'marker']);
  });
});
