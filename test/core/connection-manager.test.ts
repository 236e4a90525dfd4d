// ConnectionManager on FakeSinks: its indexes and the transitions it reports (first/last of a user
// in a room), recipient choice, one write per connection per tick, eviction, heartbeat and expiry.
import { afterEach, describe, expect, it } from 'vitest';
import type { CloseReason } from '../../src/core/connection.js';
import { ConnectionManager } from '../../src/core/connection-manager.js';
import { Counters } from '../../src/core/counters.js';
import { formatEventId } from '../../src/core/event-id.js';
import type { HubEvent } from '../../src/core/events.js';
import { encodeEvent } from '../../src/core/frame.js';
import { fakeConnection, type FakeConnection } from '../support/fake-sink.js';

/** A long heartbeat: the sweeps are called by hand; start() only sets the close listener. */
const NO_SWEEP_MS = 3_600_000;

let seq = 0;
/** An event to everyone, narrowed by `over`; ids increase across the file. */
function event(over: Partial<HubEvent> = {}): HubEvent {
  return {
    id: formatEventId(++seq), type: 'test', data: seq, room: null, userId: null, connectionId: null, filters: null,
    sender: 'svc', ownerUserId: null, timestamp: new Date().toISOString(), ...over,
  };
}

const managers: ConnectionManager[] = [];
/** A manager whose hub-closes are recorded. */
function manager(): { m: ConnectionManager; counters: Counters; closes: [string, CloseReason][] } {
  const counters = new Counters();
  const m = new ConnectionManager(counters);
  const closes: [string, CloseReason][] = [];
  m.start(NO_SWEEP_MS, (conn, reason) => closes.push([conn.id, reason]));
  managers.push(m);
  return { m, counters, closes };
}
afterEach(() => {
  for (const m of managers.splice(0)) m.stop();
});

/** Dispatches an event, flushes, and answers which connections received its frame. */
function deliver(m: ConnectionManager, conns: FakeConnection[], ev: HubEvent): { n: number; got: FakeConnection[] } {
  const n = m.dispatch(ev, encodeEvent(ev));
  m.flush();
  return { n, got: conns.filter((c) => c.sink.ids.includes(ev.id)) };
}

describe('ConnectionManager: indexes and transitions', () => {
  it('add() answers the rooms where the connection is its user\'s first, and the user\'s connection count', () => {
    const { m } = manager();
    expect(m.add(fakeConnection('alice', ['user:alice', 'lobby']))).toEqual({ firsts: ['user:alice', 'lobby'], userConnections: 1 });
    expect(m.add(fakeConnection('alice', ['user:alice', 'lobby', 'dev']))).toEqual({ firsts: ['dev'], userConnections: 2 });
    expect(m.add(fakeConnection('bob', ['lobby']))).toEqual({ firsts: ['lobby'], userConnections: 1 });
    expect(m.size).toBe(3);
    expect(m.userCount).toBe(2);
    expect([...m.users()].sort()).toEqual(['alice', 'bob']);
    expect(m.rooms().sort((a, b) => (a.roomId < b.roomId ? -1 : 1))).toEqual([
      { roomId: 'dev', connections: 1, users: 1 },
      { roomId: 'lobby', connections: 3, users: 2 },
      { roomId: 'user:alice', connections: 2, users: 1 },
    ]);
    expect(Object.fromEntries(m.members('lobby'))).toEqual({ alice: 2, bob: 1 });
  });

  it('join and leave answer none, changed (the user has another connection there) or edge (first or last)', () => {
    const { m } = manager();
    const a1 = fakeConnection('alice');
    const a2 = fakeConnection('alice');
    const stranger = fakeConnection('carol');
    m.add(a1);
    m.add(a2);
    expect(m.join(a1, 'r')).toBe('edge');
    expect(m.join(a1, 'r')).toBe('none');
    expect(m.join(a2, 'r')).toBe('changed');
    expect(m.join(stranger, 'r')).toBe('none');
    expect(stranger.rooms.has('r')).toBe(false);
    expect(m.userInRoom('alice', 'r')).toBe(true);
    expect(m.leave(a1, 'r')).toBe('changed');
    expect(m.leave(a1, 'r')).toBe('none');
    expect(m.leave(a2, 'r')).toBe('edge');
    expect(m.userInRoom('alice', 'r')).toBe(false);
    expect(m.inRoom('r').size).toBe(0);
    expect(m.rooms()).toEqual([]);
  });

  it('remove() answers the rooms where it was its user\'s last connection, once', () => {
    const { m } = manager();
    const a1 = fakeConnection('alice', ['user:alice', 'lobby']);
    const a2 = fakeConnection('alice', ['user:alice', 'dev']);
    m.add(a1);
    m.add(a2);
    expect(m.remove(a1)).toEqual(['lobby']);
    expect(m.remove(a1)).toEqual([]);
    expect(m.remove(a2).sort()).toEqual(['dev', 'user:alice']);
    expect(m.size).toBe(0);
    expect(m.ofUser('alice').size).toBe(0);
    expect(m.remove(fakeConnection('never-added', ['x']))).toEqual([]);
  });
});

describe('ConnectionManager: dispatch', () => {
  it('reaches everyone, a room, a user or one connection, narrowed by filters, and counts deliveries', () => {
    const { m, counters } = manager();
    const a1 = fakeConnection('alice', ['red'], { metadata: { device: 'web' } });
    const a2 = fakeConnection('alice', [], { metadata: { device: 'mobile' } });
    const b = fakeConnection('bob', ['red', 'blue'], { metadata: { device: 'web' } });
    const all = [a1, a2, b];
    for (const c of all) m.add(c);
    expect(deliver(m, all, event()).got).toEqual(all);
    expect(deliver(m, all, event({ room: 'red' })).got).toEqual([a1, b]);
    expect(deliver(m, all, event({ userId: 'alice' })).got).toEqual([a1, a2]);
    expect(deliver(m, all, event({ connectionId: a2.id, ownerUserId: 'alice' })).got).toEqual([a2]);
    expect(deliver(m, all, event({ filters: { device: 'web' } })).got).toEqual([a1, b]);
    expect(deliver(m, all, event({ room: 'red', filters: { device: 'mobile' } })).got).toEqual([]);
    expect(deliver(m, all, event({ room: 'nobody-here' })).got).toEqual([]);
    expect(counters.snapshot().delivered).toBe(3 + 2 + 2 + 1 + 2);
  });

  it('writes once per connection per tick, however many events', async () => {
    const { m } = manager();
    const c = fakeConnection('u');
    m.add(c);
    const evs = [event(), event(), event()];
    for (const ev of evs) m.dispatch(ev, encodeEvent(ev));
    expect(c.sink.chunks).toEqual([]);
    // the flush runs after the current I/O phase
    await new Promise((r) => setImmediate(r));
    expect(c.sink.calls).toEqual({ write: 1, writev: 0 });
    expect(c.sink.text).toBe(evs.map((ev) => encodeEvent(ev).toString()).join(''));
  });

  it('evicts at flush a connection whose write leaves more than its bound unsent, once; others keep receiving', () => {
    const { m, counters, closes } = manager();
    const slow = fakeConnection('slow', [], { maxBufferedBytes: 1000 });
    const fast = fakeConnection('fast');
    m.add(slow);
    m.add(fast);
    slow.sink.stall();
    // each frame is about 760 bytes: after the first flush the socket holds them, under the bound
    deliver(m, [slow, fast], event({ data: 'x'.repeat(600) }));
    expect(slow.closed).toBeNull();
    // the second flush passes the bound
    deliver(m, [slow, fast], event({ data: 'x'.repeat(600) }));
    expect(slow.closed).toBe('evicted');
    expect(slow.sink.destroyed).toBe(true);
    deliver(m, [slow, fast], event());
    expect(closes).toEqual([[slow.id, 'evicted']]);
    expect(counters.snapshot().evicted).toBe(1);
    expect(slow.sink.ids).toHaveLength(2);
    expect(fast.sink.ids).toHaveLength(3);
  });

  it('evicts at dispatch a connection whose socket already holds more than its bound (Sent.Over)', () => {
    const { m, closes } = manager();
    const full = fakeConnection('full', [], { maxBufferedBytes: 100 });
    m.add(full);
    full.sink.stall();
    // the preamble or a replay filled the socket
    full.writeNow(Buffer.from(`: ${'x'.repeat(200)}\n\n`));
    const { n } = deliver(m, [full], event());
    expect(n).toBe(1);
    expect(full.closed).toBe('evicted');
    expect(full.sink.ids).toEqual([]);
    expect(closes).toEqual([[full.id, 'evicted']]);
  });

  it('signals a room with a control frame, and one connection', () => {
    const { m } = manager();
    const inRoom = fakeConnection('a', ['r']);
    const outside = fakeConnection('b');
    m.add(inRoom);
    m.add(outside);
    m.signalRoom('r', Buffer.from('event: presence-join\ndata: {}\n\n'));
    m.signal(outside, Buffer.from('event: room-joined\ndata: {}\n\n'));
    m.flush();
    expect(inRoom.sink.text).toBe('event: presence-join\ndata: {}\n\n');
    expect(outside.sink.text).toBe('event: room-joined\ndata: {}\n\n');
  });
});

describe('ConnectionManager: sweeps', () => {
  it('heartbeat pings every live stream and skips those still replaying', () => {
    const { m } = manager();
    const live = fakeConnection('a');
    const replaying = fakeConnection('b', [], { replaying: true });
    m.add(live);
    m.add(replaying);
    m.heartbeat();
    m.flush();
    expect(live.sink.text).toBe(': ping\n\n');
    replaying.goLive();
    expect(replaying.sink.text).toBe('');
  });

  it('ends streams whose token expired with token-expired, and leaves the others', () => {
    const { m, closes } = manager();
    const expiring = fakeConnection('a', [], { exp: 1_000 });
    const later = fakeConnection('b', [], { exp: 2_000 });
    m.add(expiring);
    m.add(later);
    m.expireTokens(1_500);
    expect(expiring.closed).toBe('token-expired');
    expect(expiring.sink.ended).toBe(true);
    expect(expiring.sink.text).toBe(`event: token-expired\ndata: {"reason":"token expired","expiredAt":"${new Date(1_000_000).toISOString()}"}\n\n`);
    expect(later.closed).toBeNull();
    expect(later.sink.text).toBe('');
    expect(closes).toEqual([[expiring.id, 'token-expired']]);
  });

  it('finishAll ends every stream after its queued frames and a last frame of its own', () => {
    const { m } = manager();
    const c = fakeConnection('a');
    m.add(c);
    const ev = event();
    m.dispatch(ev, encodeEvent(ev));
    m.finishAll('shutdown', () => Buffer.from('event: shutdown\ndata: {}\n\n'));
    expect(c.sink.text).toBe(`${encodeEvent(ev).toString()}event: shutdown\ndata: {}\n\n`);
    expect(c.sink.ended).toBe(true);
    expect(c.closed).toBe('shutdown');
  });
});
