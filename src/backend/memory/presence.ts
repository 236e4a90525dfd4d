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
 * Who hears each transition as this process's presence records it, with the ConnectionManager
 * already changed (webhooks: memory/webhook-queue.ts).
 */
export interface PresenceTransitions {
  /** An opened connection; `firsts`: rooms where it is its user's first connection. */
  opened(conn: ConnectionInfo, firsts: readonly string[]): void;
  /** A closed connection; `lasts`: rooms where it was its user's last connection. */
  closed(conn: ConnectionInfo, lasts: readonly string[]): void;
  /** A connection joined a room; `first` when it is its user's first connection there. */
  entered(room: string, userId: string, first: boolean): void;
  /** A connection left a room; `last` when it was its user's last connection there. */
  exited(room: string, userId: string, last: boolean): void;
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
    /** Told of every change as it is recorded (webhooks). */
    private readonly transitions?: PresenceTransitions,
  ) {}

  async opened(conn: ConnectionInfo, maxPerUser: number, local: LocalOpen): Promise<string[] | null> {
    if (local.userConnections > maxPerUser) return null;
    if (local.userConnections === 1) this.users?.online(conn.userId);
    this.transitions?.opened(conn, local.firsts);
    return local.firsts.filter((room) => this.small(room));
  }

  async closed(conn: ConnectionInfo, localLasts: readonly string[]): Promise<string[]> {
    if (this.manager.ofUser(conn.userId).size === 0) this.users?.offline(conn.userId);
    this.transitions?.closed(conn, localLasts);
    return localLasts.filter((room) => this.small(room));
  }

  async joined(conn: ConnectionInfo, room: string, localFirst: boolean): Promise<boolean> {
    this.transitions?.entered(room, conn.userId, localFirst);
    return localFirst && this.small(room);
  }

  async left(conn: ConnectionInfo, room: string, localLast: boolean): Promise<boolean> {
    this.transitions?.exited(room, conn.userId, localLast);
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
