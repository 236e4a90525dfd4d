import { Redis, type Cluster, type RedisOptions } from 'ioredis';
import { CONNECT_TIMEOUT_MS, type RedisErrors, type RedisLogger } from './client.js';

/** What a bus subscription tells its owner (the broker). */
export interface BusHandlers {
  /** One message, in the order the bus carried it. */
  message(payload: Buffer): void;
  /** The subscription was cut: messages may be missed from now until `resubscribed`. */
  lost(): void;
  /** Subscribed again after a cut (or a first subscription that start() could not make). */
  resubscribed(): void;
}

/**
 * The hub's one pub/sub channel as the broker uses it. On one server (or through Sentinel) it is
 * an ordinary channel (PUBLISH/SUBSCRIBE); on a Cluster a shard channel (SPUBLISH/SSUBSCRIBE) in
 * the hub's slot, so it lives on the same primary as the history stream.
 */
export interface BusSubscription {
  /** The command the publish script and control messages send the channel with. */
  readonly publishCommand: 'PUBLISH' | 'SPUBLISH';
  /** True while subscribed. */
  readonly subscribed: boolean;
  /** Subscribes now when it can (else on the next connection), and again after every cut. */
  start(channel: string, handlers: BusHandlers): Promise<void>;
  close(): Promise<void>;
}

/**
 * The bus on one server or a Sentinel set: a client in subscriber mode (created with
 * autoResubscribe off: resubscribing is ours, so we know when it is done and can catch up).
 */
export class ChannelBus implements BusSubscription {
  readonly publishCommand = 'PUBLISH';
  private subscribed_ = false;

  constructor(private readonly sub: Redis, private readonly errors: RedisErrors) {}

  get subscribed(): boolean {
    return this.subscribed_ && this.sub.status === 'ready';
  }

  async start(channel: string, h: BusHandlers): Promise<void> {
    this.sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => h.message(message));
    this.sub.on('close', () => {
      if (this.subscribed_) h.lost();
      this.subscribed_ = false;
    });
    this.sub.on('ready', () => void this.resubscribe(channel, h));
    if (this.sub.status === 'ready') {
      await this.errors.guard('subscribe', this.sub.subscribe(channel));
      this.subscribed_ = true;
    }
  }

  private async resubscribe(channel: string, h: BusHandlers): Promise<void> {
    try {
      await this.sub.subscribe(channel);
    } catch (err) {
      this.errors.record('resubscribe', err, { channel });
      return; // the client reconnects and 'ready' fires again
    }
    this.subscribed_ = true;
    h.resubscribed();
  }

  async close(): Promise<void> {
    this.subscribed_ = false;
  }
}

/** Pause between attempts to subscribe on a Cluster while the hub's shard has no reachable primary. */
const SHARD_RETRY_MS = 250;
/** How often the shard subscription checks that its node still owns the hub's slot. */
const SHARD_CHECK_MS = 1_000;

/**
 * The bus on a Cluster: a connection of our own to the primary that owns the channel's slot, in
 * sharded subscriber mode. When that connection drops (the primary died) or the slot map names
 * another owner (a failover or a moved slot), it re-reads the slot map, subscribes on the new owner
 * and reports the cut, so the broker catches up from history.
 */
export class ShardBus implements BusSubscription {
  readonly publishCommand = 'SPUBLISH';
  private conn: Redis | undefined;
  private connKey: string | undefined;
  private slot = -1;
  private channel = '';
  private handlers: BusHandlers | undefined;
  private subscribed_ = false;
  /** True once start() returned: later subscriptions are reported as resubscriptions. */
  private started = false;
  private firstAttempt: (() => void) | undefined;
  private closed = false;
  private connecting: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly cluster: Cluster,
    private readonly nodeOptions: RedisOptions,
    private readonly errors: RedisErrors,
    private readonly logger: RedisLogger,
    /** Called after each resubscription (the hub's shard changed primary: it may have lost recent writes). */
    private readonly onMoved: () => void = () => {},
  ) {}

  get subscribed(): boolean {
    return this.subscribed_ && this.conn?.status === 'ready';
  }

  async start(channel: string, h: BusHandlers): Promise<void> {
    this.channel = channel;
    this.handlers = h;
    this.slot = Number(await this.errors.guard('bus-slot', this.cluster.cluster('KEYSLOT', channel)));
    this.timer = setInterval(() => this.check(), SHARD_CHECK_MS);
    this.timer.unref();
    // Waits for the first attempt only; when it fails, the subscription is made later (and reported).
    await new Promise<void>((resolve) => {
      this.firstAttempt = resolve;
      void this.connect();
    });
    this.started = true;
  }

  /** The `host:port` the slot map names as the owner of the hub's slot. */
  private owner(): string | undefined {
    return this.cluster.slots[this.slot]?.[0];
  }

  private check(): void {
    if (this.closed || this.connecting !== undefined) return;
    const owner = this.owner();
    if (this.conn === undefined || (owner !== undefined && owner !== this.connKey)) {
      if (this.conn !== undefined) this.logger.warn({ from: this.connKey, to: owner }, 'the hub slot has a new owner; moving the bus subscription');
      this.drop();
      void this.connect();
    }
  }

  private drop(): void {
    const conn = this.conn;
    this.conn = undefined;
    this.connKey = undefined;
    if (this.subscribed_) this.handlers?.lost();
    this.subscribed_ = false;
    conn?.removeAllListeners();
    conn?.on('error', () => {});
    conn?.disconnect(false);
  }

  private connect(): Promise<void> {
    this.connecting ??= this.connectOnce().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connectOnce(): Promise<void> {
    while (!this.closed) {
      const key = this.owner();
      if (key !== undefined) {
        const sep = key.lastIndexOf(':');
        const conn = new Redis({
          ...this.nodeOptions, host: key.slice(0, sep), port: Number(key.slice(sep + 1)),
          lazyConnect: true, retryStrategy: () => null, enableOfflineQueue: false,
        });
        conn.on('error', (err: unknown) => this.errors.record('bus-connection', err, { node: key }));
        conn.on('smessageBuffer', (_channel: Buffer, message: Buffer) => this.handlers?.message(message));
        try {
          await conn.connect();
          await this.shardSubscribe(conn);
          if (this.closed) {
            conn.disconnect(false);
            break;
          }
          this.conn = conn;
          this.connKey = key;
          this.subscribed_ = true;
          conn.once('close', () => {
            if (this.conn !== conn) return;
            this.drop();
            if (!this.closed) void this.connect();
          });
          if (this.started) {
            this.handlers?.resubscribed();
            this.onMoved();
          }
          this.firstAttempt?.();
          return;
        } catch (err) {
          this.errors.record('bus-subscribe', err, { node: key });
          conn.removeAllListeners();
          conn.on('error', () => {});
          conn.disconnect(false);
        }
      }
      this.firstAttempt?.();
      // The slot map is stale or the owner is down: read it again, then retry.
      this.cluster.refreshSlotsCache();
      await new Promise((r) => setTimeout(r, SHARD_RETRY_MS));
    }
    this.firstAttempt?.();
  }

  /**
   * SSUBSCRIBE, bounded: on a node that does not own the slot (a stale slot map) Redis answers
   * MOVED, which ioredis 5.11 reports only as a 'moved' event while the command never settles.
   */
  private shardSubscribe(conn: Redis): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('SSUBSCRIBE got no answer')), CONNECT_TIMEOUT_MS);
      conn.once('moved', () => reject(new Error('MOVED: this node does not own the hub slot')));
      conn.ssubscribe(this.channel).then(() => resolve(), reject).finally(() => clearTimeout(timer));
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.connecting;
    const conn = this.conn;
    this.subscribed_ = false;
    this.conn = undefined;
    conn?.removeAllListeners();
    conn?.on('error', () => {});
    conn?.disconnect(false);
  }
}
