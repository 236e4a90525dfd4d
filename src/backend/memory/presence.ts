import type { ConnectionManager } from '../../core/connection-manager.js';
import type { Counters } from '../../core/counters.js';
import type {
  ConnectionInfo, Directory, HubCensus, LocalOpen, NodeSummary, Presence, RoomSummary,
} from '../../core/ports.js';
import type { Target } from '../../core/events.js';

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
  ) {}

  async opened(_conn: ConnectionInfo, maxPerUser: number, local: LocalOpen): Promise<string[] | null> {
    return local.userConnections > maxPerUser ? null : [...local.firsts];
  }

  async closed(_conn: ConnectionInfo, localLasts: readonly string[]): Promise<string[]> {
    return [...localLasts];
  }

  async joined(_conn: ConnectionInfo, _room: string, localFirst: boolean): Promise<boolean> {
    return localFirst;
  }

  async left(_conn: ConnectionInfo, _room: string, localLast: boolean): Promise<boolean> {
    return localLast;
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
