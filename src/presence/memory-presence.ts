import type { ConnectionManager } from '../core/connection-manager.js';
import type {
  ConnectionInfo, NodeSummary, PresenceStore, RoomSummary, Target,
} from '../core/types.js';

/** Presence for one process: every answer comes from the local ConnectionManager's indexes. */
export class MemoryPresence implements PresenceStore {
  readonly distributed = false;
  private readonly userRoomSets = new Map<string, Set<string>>();

  constructor(
    private readonly manager: ConnectionManager,
    private readonly nodeId: string,
    private readonly startedAt: number,
  ) {}

  // The manager has already indexed the change when these are called.
  async opened(conn: ConnectionInfo, maxPerUser: number): Promise<string[] | null> {
    // The manager holds the new connection already.
    if (this.manager.ofUser(conn.userId).size > maxPerUser) return null;
    return [...conn.rooms].filter((room) => this.manager.userConnectionsInRoom(conn.userId, room) === 1);
  }

  async closed(conn: ConnectionInfo): Promise<string[]> {
    return [...conn.rooms].filter((room) => this.manager.userConnectionsInRoom(conn.userId, room) === 0);
  }

  async joined(conn: ConnectionInfo, room: string): Promise<boolean> {
    return this.manager.userConnectionsInRoom(conn.userId, room) === 1;
  }

  async left(conn: ConnectionInfo, room: string): Promise<boolean> {
    return this.manager.userConnectionsInRoom(conn.userId, room) === 0;
  }

  async userRooms(userId: string): Promise<string[]> {
    return [...(this.userRoomSets.get(userId) ?? [])];
  }

  async addUserRoom(userId: string, room: string): Promise<void> {
    let set = this.userRoomSets.get(userId);
    if (set === undefined) this.userRoomSets.set(userId, (set = new Set()));
    set.add(room);
  }

  async removeUserRoom(userId: string, room: string): Promise<void> {
    const set = this.userRoomSets.get(userId);
    if (set === undefined) return;
    set.delete(room);
    if (set.size === 0) this.userRoomSets.delete(userId);
  }

  async userConnections(userId: string): Promise<number> {
    return this.manager.ofUser(userId).size;
  }

  async connectionOwner(connectionId: string): Promise<string | null> {
    return this.manager.get(connectionId)?.userId ?? null;
  }

  async userInRoom(userId: string, room: string): Promise<boolean> {
    return this.manager.userInRoom(userId, room);
  }

  async rooms(): Promise<RoomSummary[]> {
    return this.manager.rooms();
  }

  async members(room: string): Promise<Map<string, number>> {
    return this.manager.members(room);
  }

  async nodes(): Promise<NodeSummary[]> {
    return [{
      nodeId: this.nodeId,
      connections: this.manager.size,
      uptimeSec: Math.floor((Date.now() - this.startedAt) / 1000),
      counters: { ...this.manager.counters },
    }];
  }

  async activeUsers(): Promise<number> {
    return this.manager.userCount;
  }

  async targetCount(target: Target): Promise<number> {
    return this.manager.countRecipients({ ...target, filters: null });
  }

  async close(): Promise<void> {}
}
