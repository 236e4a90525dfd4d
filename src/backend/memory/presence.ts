import type { ConnectionManager } from '../../core/connection-manager.js';
import type { Counters } from '../../core/counters.js';
import type {
  ConnectionInfo, Directory, HubCensus, LocalOpen, NodeSummary, Presence, RoomSummary,
} from '../../core/ports.js';
import type { Target } from '../../core/events.js';

/** Who hears that a user came online (its first stream) or went offline (its last stream closed). */
export interface UserActivity {
  online(userId: string): void;
  offline(userId: string): void;
}

/**
 * Presence for one process: this process is the whole hub, so each hub-wide transition is the
 * local one the ConnectionManager reported, and every read comes from its indexes.
 */
export class MemoryPresence implements Presence, Directory, HubCensus {
  readonly distributed = false;

  constructor(
    private readonly manager: ConnectionManager,
    private readonly counters: Counters,
    private readonly nodeId: string,
    private readonly startedAt: number,
    /** Transitions are answered only for rooms of at most this many users (PRESENCE_EVENTS_MAX_USERS). */
    private readonly announceMaxUsers: number,
    /** Told when a user's first stream opens and its last one closes (memberships expire meanwhile). */
    private readonly users?: UserActivity,
  ) {}

  async opened(conn: ConnectionInfo, maxPerUser: number, local: LocalOpen): Promise<string[] | null> {
    if (local.userConnections > maxPerUser) return null;
    if (local.userConnections === 1) this.users?.online(conn.userId);
    return local.firsts.filter((room) => this.small(room));
  }

  async closed(conn: ConnectionInfo, localLasts: readonly string[]): Promise<string[]> {
    if (this.manager.ofUser(conn.userId).size === 0) this.users?.offline(conn.userId);
    return localLasts.filter((room) => this.small(room));
  }

  async joined(_conn: ConnectionInfo, room: string, localFirst: boolean): Promise<boolean> {
    return localFirst && this.small(room);
  }

  async left(_conn: ConnectionInfo, room: string, localLast: boolean): Promise<boolean> {
    return localLast && this.small(room);
  }

  /** True when presence events are sent in the room (at most PRESENCE_EVENTS_MAX_USERS users now). */
  private small(room: string): boolean {
    return this.manager.roomUserCount(room) <= this.announceMaxUsers;
  }

  async userConnections(userId: string): Promise<number> {
    return this.manager.ofUser(userId).size;
  }

  async userRooms(userId: string): Promise<string[]> {
    return this.manager.roomsOfUser(userId);
  }

  async connectionOwner(connectionId: string): Promise<string | null> {
    return this.manager.get(connectionId)?.userId ?? null;
  }

  async userInRoom(userId: string, room: string): Promise<boolean> {
    return this.manager.userInRoom(userId, room);
  }

  async members(room: string): Promise<Map<string, number>> {
    return this.manager.members(room);
  }

  async targetCount(target: Target): Promise<number> {
    return this.manager.countRecipients({ ...target, filters: null });
  }

  async rooms(): Promise<RoomSummary[]> {
    return this.manager.rooms();
  }

  async nodes(): Promise<NodeSummary[]> {
    return [{
      nodeId: this.nodeId,
      connections: this.manager.size,
      uptimeSec: Math.floor((Date.now() - this.startedAt) / 1000),
      counters: this.counters.snapshot(),
    }];
  }

  async activeUsers(): Promise<number> {
    return this.manager.userCount;
  }
}
