import type { Connection } from './connection.js';
import type { HubContext } from './context.js';
import { HubError } from './errors.js';
import { encodeControl } from './frame.js';
import { assertRoomsFit } from './limits.js';
import { connectionMayJoin, mayJoin, maySeeRoom } from './policy.js';
import type { ControlMessage, RoomSummary } from './ports.js';
import type { Principal } from './principal.js';
import type { Publishing } from './publish.js';

/** The rooms use-case: joins and leaves (user-level or one connection), listings, chat. */
export class Rooms {
  constructor(private readonly ctx: HubContext, private readonly publishing: Publishing) {}

  /** Applies a join or leave that any process published, to this process's connections. */
  apply(msg: Extract<ControlMessage, { kind: 'join' | 'leave' }>): void {
    const { manager, presence, life, signals } = this.ctx;
    const targets = msg.connectionId !== null
      ? [manager.get(msg.connectionId)].filter((c): c is Connection => c !== undefined && c.userId === msg.userId)
      : [...manager.ofUser(msg.userId)];
    const joining = msg.kind === 'join';
    const frame = encodeControl(joining ? 'room-joined' : 'room-left', { roomId: msg.room });
    for (const conn of targets) {
      if (joining && !connectionMayJoin(conn, msg.room)) continue;
      const change = joining ? manager.join(conn, msg.room) : manager.leave(conn, msg.room);
      if (change === 'none') continue;
      manager.signal(conn, frame);
      const edge = change === 'edge';
      if (joining) {
        life.track('presence join', presence.joined(conn, msg.room, edge).then((first) =>
          first ? signals.joined(msg.room, conn.userId) : undefined));
      } else {
        life.track('presence leave', presence.left(conn, msg.room, edge).then((last) =>
          last ? signals.left(msg.room, conn.userId) : undefined));
      }
    }
  }

  private async ownedConnection(principal: Principal, connectionId: string): Promise<string> {
    const owner = await this.ctx.directory.connectionOwner(connectionId);
    if (owner === null) throw new HubError('not_found', `no open connection "${connectionId}"`);
    if (owner !== principal.userId && principal.role !== 'admin') {
      throw new HubError('forbidden', 'that connection is not yours');
    }
    return owner;
  }

  /** Joins the user's connections (membership sticks to the user), or one connection, to a room. */
  async join(principal: Principal, room: string, connectionId: string | null): Promise<number> {
    const { life, broker, memberships, directory, roomChanges } = this.ctx;
    life.assertOpen();
    if (!mayJoin(principal, room)) throw new HubError('forbidden', `you may not join room "${room}"`);
    if (connectionId !== null) {
      const owner = await this.ownedConnection(principal, connectionId);
      await roomChanges.run(owner, async () => {
        await assertRoomsFit(this.ctx, owner, [room]);
        await broker.publishControl({ kind: 'join', room, userId: owner, connectionId });
      });
      return 1;
    }
    // The check and the membership write in turn with the user's other room changes here: the next
    // check reads this membership.
    await roomChanges.run(principal.userId, async () => {
      await assertRoomsFit(this.ctx, principal.userId, [room]);
      await memberships.add(principal.userId, room);
    });
    await broker.publishControl({ kind: 'join', room, userId: principal.userId, connectionId: null });
    return directory.userConnections(principal.userId);
  }

  /** Leaves a room: the user's membership and all its connections, or one connection. */
  async leave(principal: Principal, room: string, connectionId: string | null): Promise<number> {
    const { life, broker, memberships, directory } = this.ctx;
    life.assertOpen();
    if (connectionId !== null) {
      const owner = await this.ownedConnection(principal, connectionId);
      await broker.publishControl({ kind: 'leave', room, userId: owner, connectionId });
      return 1;
    }
    const inRoom = (await directory.members(room)).get(principal.userId) ?? 0;
    await memberships.remove(principal.userId, room);
    await broker.publishControl({ kind: 'leave', room, userId: principal.userId, connectionId: null });
    return inRoom;
  }

  /** Rooms the caller may see, hub-wide. */
  async list(principal: Principal): Promise<RoomSummary[]> {
    const all = await this.ctx.census.rooms();
    return all.filter((r) => maySeeRoom(principal, r.roomId)).sort((a, b) => (a.roomId < b.roomId ? -1 : 1));
  }

  /** Members of a room, for its members and admins. */
  async members(principal: Principal, room: string): Promise<{ userId: string; connections: number }[]> {
    const { directory } = this.ctx;
    if (principal.role !== 'admin' && !(await directory.userInRoom(principal.userId, room))) {
      throw new HubError('forbidden', 'only members of the room and admins may list its members');
    }
    const members = await directory.members(room);
    return [...members].map(([userId, connections]) => ({ userId, connections }))
      .sort((a, b) => (a.userId < b.userId ? -1 : 1));
  }

  /** A chat message from a member of the room. */
  async chat(principal: Principal, room: string, text: string): Promise<{ id: string }> {
    if (!mayJoin(principal, room) || !(await this.ctx.directory.userInRoom(principal.userId, room))) {
      throw new HubError('forbidden', 'you need a connection in the room to post to it');
    }
    const res = await this.publishing.publish(principal.userId, {
      type: 'chat-message', data: { userId: principal.userId, username: principal.userId, text },
      room, userId: null, connectionId: null, filters: null,
    });
    return { id: res.id };
  }
}
