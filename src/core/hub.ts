import type { CloseReason, Connection, SseSink } from './connection.js';
import { Lifecycle, PresenceSignals, type HubContext, type HubDeps, type HubOptions } from './context.js';
import type { HubEvent } from './events.js';
import { encodeControl, encodeRetry, frameOf } from './frame.js';
import { readHistory, type HistoryAnswer, type HistoryQuery } from './history.js';
import { Operators, type DisconnectTarget } from './operators.js';
import type { BrokerListener, ControlMessage, RecordAnswer, RoomSummary } from './ports.js';
import type { Principal } from './principal.js';
import { Publishing, type PublishAnswer, type PublishInput, type PublishResult } from './publish.js';
import { Rooms } from './rooms.js';
import { Stats, type HubStats } from './stats.js';
import { UserSerial } from './user-serial.js';
import { Streams, type StreamRequest } from './streams.js';

/**
 * The hub: a thin facade over its use-cases (publish, streams, rooms, history, stats). It owns
 * the one entry of events into this process's sockets (the broker's callback) and the lifecycle.
 */
export class Hub {
  private readonly ctx: HubContext;
  private readonly publishing: Publishing;
  private readonly streams: Streams;
  private readonly roomsUseCase: Rooms;
  private readonly statsUseCase: Stats;
  private readonly operators: Operators;

  constructor(opts: HubOptions, deps: HubDeps) {
    this.ctx = { ...deps, opts, life: new Lifecycle(deps.logger), signals: new PresenceSignals(deps.broker), roomChanges: new UserSerial() };
    this.publishing = new Publishing(this.ctx);
    this.streams = new Streams(this.ctx);
    this.roomsUseCase = new Rooms(this.ctx, this.publishing);
    this.statsUseCase = new Stats(this.ctx);
    this.operators = new Operators(this.ctx);
  }

  /** Subscribes to the broker and starts the sweeps. */
  async start(): Promise<void> {
    const listener: BrokerListener = {
      onEvent: (ev, frame) => this.deliver(ev, frame),
      onControl: (msg) => this.applyControl(msg),
    };
    await this.ctx.broker.subscribe(listener);
    await this.operators.start();
    this.ctx.manager.start(this.ctx.opts.heartbeatMs, (conn) => this.closeStream(conn));
  }

  /** The one entry of events into this process's sockets: the frame is encoded once per event. */
  private deliver(ev: HubEvent, frame: Buffer | undefined): void {
    const n = this.ctx.manager.dispatch(ev, frameOf(ev, frame));
    if (n > 0) this.ctx.observer?.dispatched(Date.now() - Date.parse(ev.timestamp));
  }

  private applyControl(msg: ControlMessage): void {
    if (msg.kind === 'room-signal') this.ctx.manager.signalRoom(msg.room, encodeControl(msg.type, msg.data));
    else if (msg.kind === 'disconnect' || msg.kind === 'revoke') this.operators.apply(msg);
    else this.roomsUseCase.apply(msg);
  }

  /** Publishes one event (history append, then fan-out to every process); sender is the token's sub. */
  publish(sender: string, input: PublishInput, record?: RecordAnswer): Promise<PublishResult> {
    return this.publishing.publish(sender, input, record);
  }

  /** Publishes events in order, all or none; a bad one publishes nothing. */
  publishBatch(sender: string, inputs: readonly PublishInput[], record?: RecordAnswer): Promise<{ ids: string[] }> {
    return this.publishing.publishBatch(sender, inputs, record);
  }

  /** Runs a publish once per idempotency key (scoped to the sender); `run` passes `record` on to publish. */
  idempotent<T extends PublishAnswer>(
    sender: string, key: string | undefined, request: unknown, run: (record?: RecordAnswer) => Promise<T>,
  ): Promise<T> {
    return this.publishing.idempotent(sender, key, request, run);
  }

  /** Admits and opens a stream (see Streams.open). */
  async openStream(principal: Principal, req: StreamRequest, open: () => SseSink): Promise<Connection> {
    const conn = await this.streams.open(principal, req, open);
    this.operators.recheck(conn);
    return conn;
  }

  /** Forgets a closed stream. */
  closeStream(conn: Connection, reason: CloseReason = 'client'): void {
    this.streams.close(conn, reason);
  }

  /** Joins the user's connections, or one connection, to a room; answers how many joined. */
  join(principal: Principal, room: string, connectionId: string | null): Promise<number> {
    return this.roomsUseCase.join(principal, room, connectionId);
  }

  /** Leaves a room; answers how many connections left. */
  leave(principal: Principal, room: string, connectionId: string | null): Promise<number> {
    return this.roomsUseCase.leave(principal, room, connectionId);
  }

  /** Rooms the caller may see, hub-wide. */
  rooms(principal: Principal): Promise<RoomSummary[]> {
    return this.roomsUseCase.list(principal);
  }

  /** Members of a room, for its members and admins. */
  members(principal: Principal, room: string): Promise<{ userId: string; connections: number }[]> {
    return this.roomsUseCase.members(principal, room);
  }

  /** A chat message from a member of the room. */
  chat(principal: Principal, room: string, text: string): Promise<{ id: string }> {
    return this.roomsUseCase.chat(principal, room, text);
  }

  /** Kept events after an id that the caller may see, oldest first. */
  history(principal: Principal, q: HistoryQuery): Promise<HistoryAnswer> {
    return readHistory(this.ctx, principal, q);
  }

  /** Ends every stream of a user, or one stream, on every process; answers how many. */
  disconnect(target: DisconnectTarget, reason: string): Promise<number> {
    return this.operators.disconnect(target, reason);
  }

  /** Refuses the user's tokens issued at or before `beforeMs`, on every process, and ends the streams holding them. */
  revoke(userId: string, beforeMs: number): Promise<void> {
    return this.operators.revoke(userId, beforeMs);
  }

  /** True when the hub can serve everything (not shutting down, backing store reachable, room for streams). */
  ready(): boolean {
    return !this.ctx.life.closing && this.ctx.broker.isHealthy() && !this.streams.slots.full;
  }

  /** True while this process holds MAX_STREAMS streams. */
  get full(): boolean {
    return this.streams.slots.full;
  }

  /** Hub-wide figures for `/stats`. */
  stats(): Promise<HubStats> {
    return this.statsUseCase.read();
  }

  /** Stops taking streams and publishes, sends `shutdown` to every stream and ends it. */
  async shutdown(reason: string): Promise<void> {
    if (!this.ctx.life.beginShutdown()) return;
    this.ctx.manager.stop();
    this.operators.stop();
    const base = this.ctx.opts.retryMs;
    // Each stream gets its own reconnection delay in RETRY_MS … 2 × RETRY_MS, as `retry:` (which
    // plain EventSource obeys) and in the event, so clients spread their reconnects out.
    this.ctx.manager.finishAll('shutdown', () => {
      const retryMs = base + Math.floor(Math.random() * (base + 1));
      return Buffer.concat([encodeRetry(retryMs), encodeControl('shutdown', { reason, retryMs })]);
    });
    await this.ctx.life.settle();
  }

  /** True once shutdown began. */
  get closing(): boolean {
    return this.ctx.life.closing;
  }
}
