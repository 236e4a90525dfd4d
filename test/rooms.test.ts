import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from './support/hub.js';
import { throughMarker } from './support/sse-client.js';
import { waitFor } from './support/wait.js';

let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => hub.close());

const post = (path: string, token: string, json?: unknown) => hub.call(path, { method: 'POST', token, ...(json === undefined ? {} : { json }) });

describe('room policy', () => {
  it('user:<id> is its user only; admin rooms are for admins; the rooms claim narrows; admins join anything', async () => {
    const alice = hub.token('ra');
    expect((await post('/rooms/user:ra/join', alice)).status).toBe(200);
    expect((await post('/rooms/user:rb/join', alice)).status).toBe(403);
    expect((await post('/rooms/admin/join', alice)).status).toBe(403);
    expect((await post('/rooms/admin:ops/join', alice)).status).toBe(403);
    expect((await post('/rooms/anything/join', alice)).status).toBe(200);
    const narrow = hub.token('rn', 'user', { rooms: ['team-a', 'proj:*'] });
    expect((await post('/rooms/team-a/join', narrow)).status).toBe(200);
    expect((await post('/rooms/proj:x/join', narrow)).status).toBe(200);
    expect((await post('/rooms/team-b/join', narrow)).status).toBe(403);
    expect((await post('/rooms/user:rn/join', narrow)).status).toBe(200);
    const admin = hub.token('root', 'admin');
    for (const room of ['admin', 'admin:ops', 'user:ra', 'team-b']) expect((await post(`/rooms/${room}/join`, admin)).status).toBe(200);
    const refused = await post('/rooms/admin/join', alice);
    expect(await refused.json()).toMatchObject({ error: { code: 'forbidden' } });
  });

  it('refuses invalid room ids with 400', async () => {
    const t = hub.token('rx');
    for (const bad of ['-lead', 'a'.repeat(65), 'sp ace', 'semi;colon', 'nl%0Aid']) {
      const r = await post(`/rooms/${bad}/join`, t);
      expect(r.status, bad).toBe(400);
      expect(await r.json()).toMatchObject({ error: { code: 'invalid_request' } });
    }
  });
});

describe('join and leave', () => {
  it('a user-level join asked with a wider token leaves out the user\'s streams whose own token may not join', async () => {
    const publisher = hub.token('svc-narrow', 'publisher');
    const narrow = await hub.stream('/events', hub.token('nj', 'user', { rooms: ['pub*'] }));
    const plainUser = await hub.stream('/events', hub.token('nj'));
    const wide = hub.token('nj');
    // A wider token of the same user joins secret-x: its plain stream joins, the narrow one does not.
    expect((await post('/rooms/secret-x/join', wide)).status).toBe(200);
    expect(await plainUser.next('room-joined')).toEqual({ roomId: 'secret-x' });
    // An admin token of the same user joins `admin`: the role-user streams stay out.
    expect((await post('/rooms/admin/join', hub.token('nj', 'admin'))).status).toBe(200);
    const seen = (s: typeof narrow, type: string): boolean => s.events.some((f) => f.event === type);
    await post('/broadcast/room/secret-x', publisher, { type: 'secret' });
    await post('/broadcast/room/admin', publisher, { type: 'admin-only' });
    await throughMarker([narrow, plainUser], async () => {
      const r = await post('/broadcast/user/nj', publisher, { type: 'marker' });
      return ((await r.json()) as { id: string }).id;
    });
    expect(seen(plainUser, 'secret')).toBe(true);
    expect(seen(plainUser, 'admin-only')).toBe(false);
    expect(seen(narrow, 'secret') || seen(narrow, 'admin-only')).toBe(false);
    expect(narrow.events.filter((f) => f.event === 'room-joined')).toEqual([]);
    // A later stream with the narrow token does not pick the memberships up either.
    const later = await hub.stream('/events', hub.token('nj', 'user', { rooms: ['pub*'] }));
    expect((await later.next<{ rooms: string[] }>('connected')).rooms).toEqual(['user:nj']);
  });

  it('user-level join reaches every open connection now and later ones (new tab, reconnect), until leave', async () => {
    const t = hub.token('sticky');
    const tab1 = await hub.stream('/events', t);
    const tab2 = await hub.stream('/events', t);
    const r = await post('/rooms/sticky-room/join', t);
    expect(await r.json()).toEqual({ roomId: 'sticky-room', joined: 2 });
    expect(await tab1.next('room-joined')).toEqual({ roomId: 'sticky-room' });
    expect(await tab2.next('room-joined')).toEqual({ roomId: 'sticky-room' });
    const tab3 = await hub.stream('/events', t);
    const connected = await tab3.next<{ rooms: string[] }>('connected');
    expect(connected.rooms).toContain('sticky-room');
    await post('/broadcast/room/sticky-room', hub.token('svc', 'publisher'), { type: 'hi' });
    for (const s of [tab1, tab2, tab3]) await s.next('hi');

    const left = await post('/rooms/sticky-room/leave', t);
    expect(await left.json()).toEqual({ roomId: 'sticky-room', left: 3 });
    for (const s of [tab1, tab2, tab3]) expect(await s.next('room-left')).toEqual({ roomId: 'sticky-room' });
    const tab4 = await hub.stream('/events', t);
    expect((await tab4.next<{ rooms: string[] }>('connected')).rooms).not.toContain('sticky-room');
  });

  it('connection-level join and leave touch only that connection, which must be the caller\'s', async () => {
    const t = hub.token('conn-level');
    const one = await hub.stream('/events', t);
    const two = await hub.stream('/events', t);
    const id = (await one.next<{ connectionId: string }>('connected')).connectionId;
    const r = await post('/rooms/solo/join', t, { connectionId: id });
    expect(await r.json()).toEqual({ roomId: 'solo', joined: 1 });
    await one.next('room-joined');
    await post('/broadcast/room/solo', hub.token('svc', 'publisher'), { type: 'solo-ev' });
    await one.next('solo-ev');
    // A marker to everyone after both: once `two` has it, nothing of the join or the room event is still coming.
    await throughMarker([two], () => hub.publish({ type: 'marker' }));
    expect(two.events.some((f) => f.event === 'room-joined' || f.event === 'solo-ev')).toBe(false);
    expect((await post('/rooms/solo/join', hub.token('intruder'), { connectionId: id })).status).toBe(403);
    expect((await post('/rooms/solo/join', t, { connectionId: 'missing' })).status).toBe(404);
    const l = await post('/rooms/solo/leave', t, { connectionId: id });
    expect(await l.json()).toEqual({ roomId: 'solo', left: 1 });
    await one.next('room-left');
    // A user-level leave counts only the connections that were in the room.
    await post('/rooms/solo/join', t, { connectionId: id });
    expect(await (await post('/rooms/solo/leave', t)).json()).toEqual({ roomId: 'solo', left: 1 });
    expect(await (await post('/rooms/solo/leave', t)).json()).toEqual({ roomId: 'solo', left: 0 });
    // A new tab does not inherit a connection-level membership.
    const three = await hub.stream('/events', t);
    expect((await three.next<{ rooms: string[] }>('connected')).rooms).not.toContain('solo');
  });
});

describe('GET /rooms and members, presence', () => {
  it('lists rooms with counts, hiding other users\' private rooms from non-admins', async () => {
    const a = await hub.stream('/events?rooms=listed', hub.token('la'));
    await hub.stream('/events?rooms=listed', hub.token('lb'));
    await hub.stream('/events?rooms=listed', hub.token('lb'));
    void a;
    const body = (await (await hub.call('/rooms', { token: hub.token('la') })).json()) as { rooms: { roomId: string; connections: number; users: number }[] };
    expect(body.rooms.find((r) => r.roomId === 'listed')).toEqual({ roomId: 'listed', connections: 3, users: 2 });
    expect(body.rooms.some((r) => r.roomId === 'user:la')).toBe(true);
    expect(body.rooms.some((r) => r.roomId === 'user:lb')).toBe(false);
    const asAdmin = (await (await hub.call('/rooms', { token: hub.token('boss', 'admin') })).json()) as { rooms: { roomId: string }[] };
    expect(asAdmin.rooms.some((r) => r.roomId === 'user:lb')).toBe(true);
  });

  it('members are for members and admins; presence-join on a user\'s first connection, presence-leave on its last', async () => {
    const watcher = await hub.stream('/events?rooms=pres', hub.token('pw'));
    const first = await hub.stream('/events?rooms=pres', hub.token('pv'));
    expect(await watcher.next('presence-join', 3000, (d: { userId: string }) => d.userId === 'pv')).toEqual({ roomId: 'pres', userId: 'pv' });
    const second = await hub.stream('/events?rooms=pres', hub.token('pv'));
    const members = (await (await hub.call('/rooms/pres/members', { token: hub.token('pw') })).json()) as { roomId: string; users: unknown[] };
    expect(members).toEqual({ roomId: 'pres', users: [{ userId: 'pv', connections: 2 }, { userId: 'pw', connections: 1 }] });
    expect((await hub.call('/rooms/pres/members', { token: hub.token('outsider') })).status).toBe(403);
    expect((await hub.call('/rooms/pres/members', { token: hub.token('boss', 'admin') })).status).toBe(200);
    // The second stream's open has finished: a presence-join of its own would be before this marker.
    await throughMarker([watcher], () => hub.publish({ type: 'marker', room: 'pres' }));
    expect(watcher.dataOf<{ userId: string }>('presence-join').filter((d) => d.userId === 'pv')).toHaveLength(1);

    first.close();
    second.close();
    expect(await watcher.next('presence-leave', 3000, (d: { userId: string }) => d.userId === 'pv')).toEqual({ roomId: 'pres', userId: 'pv' });
    await throughMarker([watcher], () => hub.publish({ type: 'marker', room: 'pres' }));
    expect(watcher.dataOf<{ userId: string }>('presence-leave').filter((d) => d.userId === 'pv')).toHaveLength(1);
    const after = (await (await hub.call('/rooms/pres/members', { token: hub.token('pw') })).json()) as { users: unknown[] };
    expect(after.users).toEqual([{ userId: 'pw', connections: 1 }]);
  });

  it('removes empty rooms', async () => {
    const s = await hub.stream('/events?rooms=ephemeral', hub.token('eph'));
    const has = async () => ((await (await hub.call('/rooms', { token: hub.token('boss', 'admin') })).json()) as { rooms: { roomId: string }[] }).rooms.some((r) => r.roomId === 'ephemeral');
    expect(await has()).toBe(true);
    s.close();
    await waitFor('the empty room gone from /rooms', async () => !(await has()), 5000);
  });
});

describe('POST /rooms/:roomId/messages', () => {
  it('publishes chat-message to the room for a member; 403 for others; 400 for bad text', async () => {
    const t = hub.token('chatter');
    const s = await hub.stream('/events?rooms=chat', t);
    const r = await post('/rooms/chat/messages', t, { text: 'hello there' });
    expect(r.status).toBe(202);
    const { id } = (await r.json()) as { id: string };
    const ev = await s.next<{ id: string; data: unknown; sender: string; room: string }>('chat-message');
    expect(ev).toMatchObject({ id, room: 'chat', sender: 'chatter', data: { userId: 'chatter', username: 'chatter', text: 'hello there' } });
    expect((await post('/rooms/chat/messages', hub.token('lurker'), { text: 'hi' })).status).toBe(403);
    expect((await post('/rooms/chat/messages', t, { text: '' })).status).toBe(400);
    expect((await post('/rooms/chat/messages', t, { text: 'x'.repeat(2001) })).status).toBe(400);
    expect((await post('/rooms/chat/messages', t, { text: 'x'.repeat(2000) })).status).toBe(202);
  });
});
