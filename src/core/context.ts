import type { ConnectionManager } from './connection-manager.js';
import type { Counters } from './counters.js';
import { HubError } from './errors.js';
import type { Broker, HubStores } from './ports.js';
import type { RevocationList } from './revocations.js';
import type { UserSerial } from './user-serial.js';

/** The hub's tunables (from config). */
export interface HubOptions {
  nodeId: string;
  retryMs: number;
  heartbeatMs: number;
  maxEventBytes: number;
  maxBufferedBytes: number;
  maxConnectionsPerUser: number;
  /** Most rooms one user belongs to (MAX_ROOMS_PER_USER). */
  maxRoomsPerUser: number;
  /** Most open streams on this process (MAX_STREAMS). */
  maxStreams: number;
  /** Whether Redis backs the hub: reported as `redis` in stats. */
  redisConfigured: boolean;
  /** When this process started, ms since the epoch. */
  startedAt: number;
}

/** What the hub logs through (pino's shape). */
export interface HubLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Hooks for metrics; called once per event, never per delivery. */
export interface HubObserver {
  /** One event was written to this process's recipients, `latencyMs` after it was published. */
  dispatched(latencyMs: number): void;
}

/** The collaborators a hub is built from (chosen by the composition root, src/server.ts). */
export interface HubDeps extends HubStores {
  /** This process's copy of the token revocations (also read by token checks at the door). */
  revocations: RevocationList;
  manager: ConnectionManager;
  counters: Counters;
  logger: HubLogger;
  observer?: HubObserver;
}

/** Whether the hub still takes work, and the background work it must await on shutdown. */
export class Lifecycle {
  private stopping = false;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly logger: HubLogger) {}

  /** True once shutdown began. */
  get closing(): boolean {
    return this.stopping;
  }

  /** Refuses work once shutdown began. */
  assertOpen(): void {
    if (this.stopping) throw new HubError('unavailable', 'the hub is shutting down');
  }

  /** Runs background work, logging (never throwing) its failure. */
  track(what: string, work: Promise<unknown>): void {
    const p = work.catch((err: unknown) => this.logger.error({ err, what }, 'background hub operation failed'));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Marks the start of shutdown; false when it had already begun. */
  beginShutdown(): boolean {
    if (this.stopping) return false;
    this.stopping = true;
    return true;
  }

  /** Resolves when every tracked background operation has settled. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}

/** Everything a use-case of the hub works with. */
export interface HubContext extends HubDeps {
  opts: HubOptions;
  life: Lifecycle;
  signals: PresenceSignals;
  /** Room-limit checks and the writes they guard, one user at a time on this process. */
  roomChanges: UserSerial;
}

/** Tells a room's streams, on every process, that a user arrived or left (one owner of that message). */
export class PresenceSignals {
  constructor(private readonly broker: Broker) {}

  /** `presence-join` to the room. */
  joined(room: string, userId: string): Promise<void> {
    return this.signal(room, 'presence-join', userId);
  }

  /** `presence-leave` to the room. */
  left(room: string, userId: string): Promise<void> {
    return this.signal(room, 'presence-leave', userId);
  }

  private signal(room: string, type: 'presence-join' | 'presence-leave', userId: string): Promise<void> {
    return this.broker.publishControl({ kind: 'room-signal', room, type, data: { roomId: room, userId } });
  }
}
