// ConnectionManager picks live recipients from its indexes; replay and history answers ask
// entitled() (src/core/entitlement.ts). The two must agree: checked over random connections, room
// changes and events, seeded so that a failure can be replayed.
import { describe, expect, it } from 'vitest';
import { ConnectionManager } from '../../src/core/connection-manager.js';
import { Counters } from '../../src/core/counters.js';
import { entitled } from '../../src/core/entitlement.js';
import { formatEventId } from '../../src/core/event-id.js';
import type { HubEvent, Metadata } from '../../src/core/events.js';
import { encodeEvent } from '../../src/core/frame.js';
import { fakeConnection, type FakeConnection } from '../support/fake-sink.js';

const SEEDS = [1, 2, 3, 42, 2024];
const CONNECTIONS = 40;
const ROOM_CHANGES = 80;
const EVENTS = 400;
const USERS = ['u0', 'u1', 'u2', 'u3', 'u4'];
const ROOMS = ['r0', 'r1', 'r2', 'r3', 'empty'];

/** mulberry32: a small seeded generator, so every run of a seed is the same run. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function scenario(seed: number): void {
  const random = generator(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const maybe = (p: number): boolean => random() < p;
  const metadata = (): Metadata => {
    const m: Record<string, string> = {};
    if (maybe(0.7)) m.device = pick(['web', 'mobile']);
    if (maybe(0.5)) m.tier = pick(['gold', 'silver']);
    return m;
  };

  const manager = new ConnectionManager(new Counters());
  const open: FakeConnection[] = [];
  const closed: FakeConnection[] = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    const user = pick(USERS);
    const rooms = [`user:${user}`, ...ROOMS.slice(0, 4).filter(() => maybe(0.4))];
    const conn = fakeConnection(user, rooms, { metadata: metadata() });
    manager.add(conn);
    open.push(conn);
  }
  for (let i = 0; i < ROOM_CHANGES; i++) {
    const conn = pick(open);
    if (maybe(0.5)) manager.join(conn, pick(ROOMS.slice(0, 4)));
    else manager.leave(conn, pick([...conn.rooms, 'r0']));
  }
  for (let i = 0; i < CONNECTIONS / 4; i++) {
    const conn = open.splice(Math.floor(random() * open.length), 1)[0]!;
    manager.remove(conn);
    closed.push(conn);
  }

  let reachedSome = 0;
  let reachedNone = 0;
  for (let i = 1; i <= EVENTS; i++) {
    const kind = pick(['everyone', 'room', 'user', 'connection'] as const);
    const target = { room: null as string | null, userId: null as string | null, connectionId: null as string | null, ownerUserId: null as string | null };
    if (kind === 'room') target.room = pick([...ROOMS, `user:${pick(USERS)}`]);
    if (kind === 'user') target.userId = pick([...USERS, 'nobody']);
    if (kind === 'connection') {
      const conn = pick([...open, ...closed]);
      target.connectionId = maybe(0.9) ? conn.id : 'no-such-connection';
      target.ownerUserId = conn.userId;
    }
    const filters = maybe(0.4) ? metadata() : null;
    const ev: HubEvent = {
      id: formatEventId(i), type: 'random', data: i, filters, sender: 'svc', timestamp: new Date(0).toISOString(), ...target,
    };
    const expected = open.filter((c) => entitled(ev, c)).map((c) => c.id).sort();
    const what = `seed ${seed}, event ${i}: ${JSON.stringify({ ...target, filters })}`;
    expect(manager.countRecipients(ev), what).toBe(expected.length);
    const frame = encodeEvent(ev);
    const before = new Map(open.map((c) => [c, c.sink.chunks.length]));
    expect(manager.dispatch(ev, frame), what).toBe(expected.length);
    manager.flush();
    const got = open.filter((c) => c.sink.chunks.length > before.get(c)!);
    for (const c of got) expect(c.sink.chunks.at(-1), what).toBe(frame);
    expect(got.map((c) => c.id).sort(), what).toEqual(expected);
    if (expected.length > 0) reachedSome++;
    else reachedNone++;
  }
  for (const c of closed) expect(c.sink.chunks, `seed ${seed}: a removed connection`).toEqual([]);
  // the random events cover both outcomes
  expect(reachedSome).toBeGreaterThan(EVENTS / 10);
  expect(reachedNone).toBeGreaterThan(EVENTS / 10);
}

describe('recipient choice', () => {
  it.each(SEEDS)('agrees with entitled() for random connections and events (seed %i)', (seed) => {
    scenario(seed);
  });
});
