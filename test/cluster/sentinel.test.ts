// Redis behind Sentinel (a primary, 2 replicas, 3 sentinels) with REDIS_WAIT_REPLICAS=1 and two hub
// processes: the primary is SIGKILLed while a publisher keeps publishing, retrying 503s with the
// same Idempotency-Key. Every event answered 202 reaches the streams on both processes exactly
// once, in order, and is in history afterwards; the streams never close.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSentinelSet, type SentinelSet } from '../support/redis-topology.js';
import { api } from '../support/http.js';
import { assertBuilt, stopAll } from '../support/processes.js';
import { newPrefix } from '../support/redis-keys.js';
import { RawStream } from '../support/sse-client.js';
import { mint as token } from '../support/tokens.js';
import { type HubNode, openEvents, startNode } from './cluster-harness.js';
import { publishThroughFailover } from './failover.js';

const prefix = newPrefix('sentinel');
let set: SentinelSet | undefined;
let a: HubNode;
let b: HubNode;
const streams: RawStream[] = [];

beforeAll(async () => {
  assertBuilt();
  set = await startSentinelSet({ replicas: 2, sentinels: 3 });
  const redis = {
    REDIS_SENTINELS: set.sentinels.map((s) => `${s.host}:${s.port}`).join(','), REDIS_SENTINEL_NAME: set.name,
    REDIS_WAIT_REPLICAS: '1',
  };
  const start = (id: string): Promise<HubNode> => startNode({ prefix, nodeId: `sentinel-${id}`, redis });
  [a, b] = await Promise.all([start('a'), start('b')]);
}, 60_000);

afterAll(async () => {
  for (const s of streams) s.close();
  await stopAll();
  await set?.stop();
}, 30_000);

/** Opens a stream in the test room on a node and waits for `connected`. */
async function open(node: HubNode, user: string): Promise<RawStream> {
  const s = await openEvents(node.url, token(user), { rooms: 's-room' });
  if (!(s instanceof RawStream)) throw new Error(`stream refused: ${s.status} ${s.body}`);
  streams.push(s);
  await s.next('connected');
  return s;
}

describe('Redis Sentinel failover with REDIS_WAIT_REPLICAS=1', () => {
  it('loses no event answered 202, delivers each once and in order on both processes, keeps the streams open', async () => {
    const [sa, sb] = await Promise.all([open(a, 's-alice'), open(b, 's-bob')]);
    let killed: Promise<unknown> | undefined;
    let pingsAtKill: number[] = [];
    const run = await publishThroughFailover([a, b], {
      token: token('svc', 'publisher'), room: 's-room', count: 40, tag: prefix, deadlineMs: 45_000,
      before: (i) => {
        if (i !== 12) return;
        pingsAtKill = [sa.pings, sb.pings];
        killed = set!.killPrimary();
      },
    });
    await killed;
    // The failover was felt: some publishes were refused, each with Retry-After.
    expect(run.unavailable).toBeGreaterThan(0);
    expect(run.withRetryAfter).toBe(run.unavailable);
    expect(run.ids).toHaveLength(40);
    const last = run.ids.at(-1) as string;
    for (const s of [sa, sb]) {
      await s.until(() => s.published.some((f) => f.id === last), 15_000, 'the last event');
      // Exactly the events answered 202, once each, in publish order (ids increase across the failover).
      expect(s.published.map((f) => f.id)).toEqual(run.ids);
      expect(s.dataOf<{ data: { i: number } }>('f').map((e) => e.data.i)).toEqual([...Array(40).keys()]);
      expect(s.closed).toBe(false);
    }
    expect([...run.ids].sort()).toEqual(run.ids);
    // Heartbeats went on through the failover.
    expect(sa.pings).toBeGreaterThan(pingsAtKill[0] as number);
    expect(sb.pings).toBeGreaterThan(pingsAtKill[1] as number);
    // Every one of them is in history, on both processes, once.
    const admin = token('ops', 'admin');
    for (const node of [a, b]) {
      const h = await api(node.url, 'GET', '/events/history?room=s-room&limit=1000', { token: admin });
      expect(h.status).toBe(200);
      expect(h.body.events.map((e: { id: string }) => e.id)).toEqual(run.ids);
    }
    console.log(`Sentinel failover: ${run.unavailable} publishes answered 503 (all with Retry-After) for ${run.refusedForMs} ms, ${run.networkErrors} network errors; 40 events answered 202 and delivered once each on both processes`);
  }, 60_000);
});
