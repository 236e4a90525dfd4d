// The Hub facade on the memory backend, its streams on FakeSinks (no HTTP): each use-case is
// reached through it, and an event takes the one path broker → deliver → manager → sinks.
import { afterEach, describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backend/memory/index.js';
import { loadConfig } from '../../src/config.js';
import { ConnectionManager } from '../../src/core/connection-manager.js';
import { Counters } from '../../src/core/counters.js';
import { RevocationList } from '../../src/core/revocations.js';
import { Hub } from '../../src/core/hub.js';
import type { Principal, Role } from '../../src/core/principal.js';
import type { PublishInput } from '../../src/core/publish.js';
import { FakeSink } from '../support/fake-sink.js';
import { TEST_SECRET } from '../support/tokens.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const hubs: Hub[] = [];
afterEach(async () => {
  for (const h of hubs.splice(0)) await h.shutdown('test finished');
});

/** A hub with the memory backend, as the composition root builds it (without HTTP). */
async function memoryHub(): Promise<{ hub: Hub; counters: Counters }> {
  const config = loadConfig({ JWT_SECRET: TEST_SECRET, NODE_ID: 'unit', HEARTBEAT_MS: '3600000', RETRY_MS: '700' });
  const counters = new Counters();
  const manager = new ConnectionManager(counters);
  const backend = memoryBackend(config, manager, counters, Date.now());
  const hub = new Hub({
    nodeId: config.nodeId, retryMs: config.retryMs, heartbeatMs: config.heartbeatMs, maxEventBytes: config.maxEventBytes,
    maxBufferedBytes: config.maxBufferedBytes, maxConnectionsPerUser: 2, maxRoomsPerUser: config.maxRoomsPerUser,
    maxStreams: config.maxStreams, redisConfigured: false, startedAt: Date.now(),
  }, { ...backend, revocations: new RevocationList(backend.revocations, config.tokenMaxTtlSec), manager, counters, logger: silent });
  await hub.start();
  hubs.push(hub);
  return { hub, counters };
}

const principal = (userId: string, role: Role = 'user'): Principal => ({ userId, role, rooms: undefined, exp: Math.floor(Date.now() / 1000) + 3600 });
const input = (over: Partial<PublishInput> = {}): PublishInput => ({ type: 't', data: null, room: null, userId: null, connectionId: null, filters: null, ...over });
/** Lets the manager's end-of-tick flush run. */
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

async function open(hub: Hub, userId: string, rooms: string[] = [], lastEventId: string | null = null): Promise<FakeSink> {
  const sink = new FakeSink();
  await hub.openStream(principal(userId), { rooms, metadata: {}, lastEventId }, () => sink);
  return sink;
}

describe('Hub', () => {
  it('opens a stream with the preamble, delivers a published event to its room only, and counts it', async () => {
    const { hub } = await memoryHub();
    const inRoom = await open(hub, 'alice', ['lobby']);
    const outside = await open(hub, 'bob');
    expect(inRoom.text).toMatch(/^retry: 700\n\nevent: connected\ndata: \{"connectionId":"[^"]+","userId":"alice","role":"user","rooms":\["user:alice","lobby"\],"nodeId":"unit",/);
    const { id, recipients } = await hub.publish('svc', input({ room: 'lobby', data: { n: 1 } }));
    expect(recipients).toBe(1);
    // a marker to everyone: once it is written, the room event has been written wherever it goes
    const marker = await hub.publish('svc', input({ type: 'marker' }));
    await tick();
    expect(inRoom.ids).toEqual([id, marker.id]);
    expect(outside.ids).toEqual([marker.id]);
    const stats = await hub.stats();
    expect(stats).toMatchObject({ totalConnections: 2, activeUsers: 2, events: { published: 2, delivered: 3 }, redis: 'disabled' });
  });

  it('replays what a reconnecting stream missed, then goes live without duplicates', async () => {
    const { hub } = await memoryHub();
    const first = await hub.publish('svc', input({ data: 1 }));
    const missed = [(await hub.publish('svc', input({ data: 2 }))).id, (await hub.publish('svc', input({ data: 3 }))).id];
    const sink = await open(hub, 'carol', [], first.id);
    const live = await hub.publish('svc', input({ data: 4 }));
    await tick();
    expect(sink.ids).toEqual([...missed, live.id]);
  });

  it('joins and leaves rooms for every connection of a user, with presence signals to the room', async () => {
    const { hub } = await memoryHub();
    const watcher = await open(hub, 'watcher', ['den']);
    const tab1 = await open(hub, 'dave');
    const tab2 = await open(hub, 'dave');
    expect(await hub.join(principal('dave'), 'den', null)).toBe(2);
    await tick();
    for (const s of [tab1, tab2]) expect(s.text).toContain('event: room-joined\ndata: {"roomId":"den"}\n\n');
    expect(watcher.text.match(/event: presence-join\ndata: \{"roomId":"den","userId":"dave"\}/g)).toHaveLength(1);
    expect(await hub.members(principal('watcher'), 'den')).toEqual([{ userId: 'dave', connections: 2 }, { userId: 'watcher', connections: 1 }]);
    expect(await hub.leave(principal('dave'), 'den', null)).toBe(2);
    await tick();
    expect(watcher.text.match(/event: presence-leave\ndata: \{"roomId":"den","userId":"dave"\}/g)).toHaveLength(1);
  });

  it('refuses a stream past the per-user limit before writing a byte', async () => {
    const { hub } = await memoryHub();
    await open(hub, 'erin');
    await open(hub, 'erin');
    const third = new FakeSink();
    await expect(hub.openStream(principal('erin'), { rooms: [], metadata: {}, lastEventId: null }, () => third))
      .rejects.toMatchObject({ code: 'too_many_connections' });
    expect(third.chunks).toEqual([]);
  });

  it('on shutdown ends every stream with `retry:` and `shutdown` (a delay in RETRY_MS … 2 × RETRY_MS); a publish in flight still completes, reaching no ended stream', async () => {
    const { hub } = await memoryHub();
    const sink = await open(hub, 'frank');
    await hub.shutdown('SIGTERM');
    expect(hub.ready()).toBe(false);
    const [, retry, retryMs] = /retry: (\d+)\n\nevent: shutdown\ndata: \{"reason":"SIGTERM","retryMs":(\d+)\}\n\n$/.exec(sink.text) ?? [];
    expect(retry).toBe(retryMs);
    expect(Number(retryMs)).toBeGreaterThanOrEqual(700);
    expect(Number(retryMs)).toBeLessThanOrEqual(1400);
    expect(sink.ended).toBe(true);
    const written = sink.text;
    // New requests are refused at the HTTP door (test/ops.test.ts); one already in flight finishes.
    expect((await hub.publish('svc', input())).id).toMatch(/^\d{16}$/);
    expect(sink.text).toBe(written);
  });
});
