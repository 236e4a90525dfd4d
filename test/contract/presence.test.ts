// One contract for every PresenceStore: memory (one process), Redis and a Redis Cluster (hub-wide), run against each.
import { afterAll, describe, expect, it } from 'vitest';
import { fakeConnection, type FakeConnection } from '../support/fake-sink.js';
import { newPrefix } from '../support/redis-keys.js';
import { waitFor } from '../support/wait.js';
import { ClusterFixture, RedisFixture, presenceFactories } from './harness.js';

const fx = new RedisFixture();
const cluster = new ClusterFixture();
afterAll(() => Promise.all([fx.cleanup(), cluster.cleanup()]), 30_000);

const byRoom = <T extends { roomId: string }>(list: T[]): T[] => [...list].sort((a, b) => (a.roomId < b.roomId ? -1 : 1));

describe.each(presenceFactories(fx, cluster))('PresenceStore contract: $name', (factory) => {
  it('reports first and last connections of a user per room', async () => {
    const n = await factory.make();
    const a1 = fakeConnection('alice', ['user:alice', 'lobby']);
    const a2 = fakeConnection('alice', ['user:alice', 'lobby', 'dev']);
    expect((await n.open(a1)).sort()).toEqual(['lobby', 'user:alice']);
    expect(await n.open(a2)).toEqual(['dev']);
    expect(await n.join(a1, 'dev')).toBe(false);
    expect(await n.join(a1, 'ops')).toBe(true);
    expect(await n.leave(a1, 'ops')).toBe(true);
    expect(await n.leave(a1, 'dev')).toBe(false);
    expect(await n.close(a1)).toEqual([]);
    expect((await n.close(a2)).sort()).toEqual(['dev', 'lobby', 'user:alice']);
    await n.presence.close?.();
  });

  it('answers counts, owners, rooms, members and targets', async () => {
    const n = await factory.make();
    const a1 = fakeConnection('alice', ['user:alice', 'lobby']);
    const a2 = fakeConnection('alice', ['user:alice']);
    const b1 = fakeConnection('bob', ['user:bob', 'lobby']);
    for (const c of [a1, a2, b1]) await n.open(c);
    await n.join(a2, 'dev');
    const p = n.presence;
    expect(await p.userConnections('alice')).toBe(2);
    expect(await p.userConnections('nobody')).toBe(0);
    expect(await p.connectionOwner(b1.id)).toBe('bob');
    expect(await p.connectionOwner('missing')).toBeNull();
    expect(await p.userInRoom('alice', 'dev')).toBe(true);
    expect(await p.userInRoom('bob', 'dev')).toBe(false);
    expect(byRoom(await p.rooms())).toEqual([
      { roomId: 'dev', connections: 1, users: 1 },
      { roomId: 'lobby', connections: 2, users: 2 },
      { roomId: 'user:alice', connections: 2, users: 1 },
      { roomId: 'user:bob', connections: 1, users: 1 },
    ]);
    expect(Object.fromEntries(await p.members('lobby'))).toEqual({ alice: 1, bob: 1 });
    expect(Object.fromEntries(await p.members('user:alice'))).toEqual({ alice: 2 });
    expect((await p.members('empty')).size).toBe(0);
    expect(await p.activeUsers()).toBe(2);
    const t = { room: null, userId: null, connectionId: null, filters: null };
    expect(await p.targetCount(t)).toBe(3);
    expect(await p.targetCount({ ...t, room: 'lobby' })).toBe(2);
    expect(await p.targetCount({ ...t, userId: 'alice' })).toBe(2);
    expect(await p.targetCount({ ...t, connectionId: b1.id })).toBe(1);
    expect(await p.targetCount({ ...t, connectionId: 'missing' })).toBe(0);
    const nodes = await p.nodes();
    expect(nodes).toHaveLength(1);
    expect(nodes[0]).toMatchObject({ nodeId: n.nodeId, connections: 3, counters: { published: 0, delivered: 0, evicted: 0, replayed: 0 } });
    await n.close(b1);
    await n.leave(a2, 'dev');
    expect(byRoom(await p.rooms())).toEqual([
      { roomId: 'lobby', connections: 1, users: 1 },
      { roomId: 'user:alice', connections: 2, users: 1 },
    ]);
    expect(await p.activeUsers()).toBe(1);
    expect(p.distributed).toBe(factory.distributed);
    await p.close?.();
  });

  it('answers presence transitions only in rooms of at most PRESENCE_EVENTS_MAX_USERS users after the change', async () => {
    const n = await factory.make({ announceMaxUsers: 2 });
    const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((u) => fakeConnection(u, [`user:${u}`])) as [FakeConnection, FakeConnection, FakeConnection];
    for (const c of [alice, bob, carol]) expect(await n.open(c)).toEqual([`user:${c.userId}`]);
    expect(await n.join(alice, 'big')).toBe(true);
    expect(await n.join(bob, 'big')).toBe(true);
    // A third user makes the room too big to announce arrivals in...
    expect(await n.join(carol, 'big')).toBe(false);
    // ...and leaving brings it back to two, so that leave is announced.
    expect(await n.leave(carol, 'big')).toBe(true);
    expect(await n.join(carol, 'big')).toBe(false);
    expect(await n.leave(bob, 'big')).toBe(true);
    // Opening with a big room: no announcement for it.
    const dave = fakeConnection('dave', ['user:dave', 'big']);
    expect(await n.open(dave)).toEqual(['user:dave']);
    await n.presence.close?.();
  });

  it('keeps user-level rooms', async () => {
    const n = await factory.make();
    await n.memberships.add('alice', 'lobby');
    await n.memberships.add('alice', 'dev');
    await n.memberships.add('alice', 'dev');
    expect((await n.memberships.list('alice')).sort()).toEqual(['dev', 'lobby']);
    await n.memberships.remove('alice', 'dev');
    await n.memberships.remove('alice', 'never');
    expect(await n.memberships.list('alice')).toEqual(['lobby']);
    expect(await n.memberships.list('bob')).toEqual([]);
    await n.presence.close?.();
  });

  it.runIf(factory.distributed)('is hub-wide across processes: first/last, counts, user rooms', async () => {
    const shared = newPrefix('presence-shared');
    const x = await factory.make({ shared, nodeId: 'x' });
    const y = await factory.make({ shared, nodeId: 'y' });
    const ax = fakeConnection('alice', ['user:alice', 'lobby']);
    const ay = fakeConnection('alice', ['user:alice', 'lobby']);
    expect((await x.open(ax)).sort()).toEqual(['lobby', 'user:alice']);
    expect(await y.open(ay)).toEqual([]);
    expect(await y.join(ay, 'dev')).toBe(true);
    expect(await x.join(ax, 'dev')).toBe(false);
    expect(await x.presence.userConnections('alice')).toBe(2);
    expect(await x.presence.connectionOwner(ay.id)).toBe('alice');
    expect(Object.fromEntries(await y.presence.members('lobby'))).toEqual({ alice: 2 });
    expect(byRoom(await x.presence.rooms())).toContainEqual({ roomId: 'lobby', connections: 2, users: 1 });
    expect((await x.presence.nodes()).map((node) => node.nodeId)).toEqual(['x', 'y']);
    await x.memberships.add('alice', 'sticky');
    expect(await y.memberships.list('alice')).toEqual(['sticky']);
    expect(await x.close(ax)).toEqual([]);
    expect((await y.close(ay)).sort()).toEqual(['dev', 'lobby', 'user:alice']);
    await y.presence.close?.();
    expect((await x.presence.nodes()).map((node) => node.nodeId)).toEqual(['x']);
    await x.presence.close?.();
  });

  it.runIf(factory.distributed)('drops a process that stops beating and announces its users left', async () => {
    const shared = newPrefix('presence-dead');
    const left: string[] = [];
    const x = await factory.make({ shared, nodeId: 'x', heartbeatMs: 200, onGhostLeft: async (room, user) => { left.push(`${room}/${user}`); } });
    const y = await factory.make({ shared, nodeId: 'y', heartbeatMs: 200 });
    await x.open(fakeConnection('alice', ['user:alice', 'lobby']));
    await y.open(fakeConnection('bob', ['user:bob', 'lobby']));
    await y.open(fakeConnection('alice', ['user:alice']));
    expect(await x.presence.targetCount({ room: null, userId: null, connectionId: null, filters: null })).toBe(3);
    y.crash();
    // The contract is three beats (600 ms here); the wait is generous so a loaded machine does not fail it.
    await waitFor('the dead node gone', async () => (await x.presence.nodes()).length === 1, 5000);
    expect(await x.presence.activeUsers()).toBe(1);
    expect(Object.fromEntries(await x.presence.members('lobby'))).toEqual({ alice: 1 });
    expect(await x.presence.userConnections('alice')).toBe(1);
    await waitFor('presence-leave of the dead node', () => left.length >= 2, 5000);
    expect(left.sort()).toEqual(['lobby/bob', 'user:bob/bob']);
    await x.presence.close?.();
  });

  it.runIf(factory.distributed)('rewrites its state when Redis lost it', async () => {
    const shared = newPrefix('presence-lost');
    const x = await factory.make({ shared, nodeId: 'x', heartbeatMs: 100 });
    await x.open(fakeConnection('alice', ['user:alice', 'lobby']));
    const store = factory.store!;
    await store.del(await store.keys(`${x.prefix}n:*`));
    expect(await x.presence.userConnections('alice')).toBe(0);
    await waitFor('resync', async () => (await x.presence.userConnections('alice')) === 1, 5000);
    expect(Object.fromEntries(await x.presence.members('lobby'))).toEqual({ alice: 1 });
    await x.presence.close?.();
  });
});
