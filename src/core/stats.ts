import type { HubContext } from './context.js';
import type { DeliveryCounters } from './counters.js';
import type { HistoryInfo, NodeSummary, RoomSummary } from './ports.js';

/** Hub-wide figures for `/stats`. */
export interface HubStats {
  nodes: { nodeId: string; connections: number; uptimeSec: number }[];
  totalConnections: number;
  activeUsers: number;
  totalRooms: number;
  roomStats: Record<string, number>;
  events: DeliveryCounters;
  history: { size: number; oldestId: string | null; newestId: string | null };
  redis: 'up' | 'down' | 'disabled';
}

/** The stats use-case: hub-wide figures, or this process's own while the shared store is unreachable. */
export class Stats {
  /** The last history figures read, for stats while the store is unreachable. */
  private lastHistory: HistoryInfo = { size: 0, oldestId: null, newestId: null };

  constructor(private readonly ctx: HubContext) {}

  /** Hub-wide figures; while the shared store is unreachable, this process's own, with `redis: "down"`. */
  async read(): Promise<HubStats> {
    const { census, broker, manager, counters, opts, logger } = this.ctx;
    let view: [NodeSummary[], number, RoomSummary[], HistoryInfo];
    try {
      view = await Promise.all([census.nodes(), census.activeUsers(), census.rooms(), broker.historyInfo()]);
      this.lastHistory = view[3];
    } catch (err) {
      logger.warn({ err }, 'stats: shared state unreachable; answering with this process only');
      view = [[{
        nodeId: opts.nodeId, connections: manager.size,
        uptimeSec: Math.floor((Date.now() - opts.startedAt) / 1000), counters: counters.snapshot(),
      }], manager.userCount, manager.rooms(), this.lastHistory];
    }
    const [nodes, activeUsers, rooms, history] = view;
    const events: DeliveryCounters = { published: 0, delivered: 0, evicted: 0, replayed: 0 };
    for (const n of nodes) {
      events.published += n.counters.published;
      events.delivered += n.counters.delivered;
      events.evicted += n.counters.evicted;
      events.replayed += n.counters.replayed;
    }
    const roomStats: Record<string, number> = {};
    for (const r of rooms.sort((a, b) => (a.roomId < b.roomId ? -1 : 1))) roomStats[r.roomId] = r.connections;
    return {
      nodes: nodes.map((n) => ({ nodeId: n.nodeId, connections: n.connections, uptimeSec: n.uptimeSec })),
      totalConnections: nodes.reduce((s, n) => s + n.connections, 0),
      activeUsers,
      totalRooms: rooms.length,
      roomStats,
      events,
      history,
      redis: opts.redisConfigured ? (broker.isHealthy() ? 'up' : 'down') : 'disabled',
    };
  }
}
