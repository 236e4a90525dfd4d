import { EVENT_ID_DIGITS } from '../../core/event-id.js';
import type { EventDraft, HubEvent } from '../../core/events.js';
import { dataBounds, eventFrameParts } from '../../core/frame.js';
import type { AnswerRecord, Broker, BrokerListener, ControlMessage, HistoryInfo, HistorySlice } from '../../core/ports.js';
import { type Header, entryToEventId, eventToEntryId, fieldsToEvent, frameFields, makeEvent } from './broker-codec.js';
import { HISTORY_INFO_LUA, PUBLISH_LUA } from './broker-lua.js';
import type { BusSubscription } from './bus.js';
import type { RedisClient, RedisErrors, RedisLogger } from './client.js';
import type { ReplicaConfirm } from './confirm.js';
import './commands.js';
import { RecentHistory } from './recent-history.js';

/** Events read per round trip when catching up after a resubscription. */
const CATCH_UP_PAGE = 500;
/** Live messages held while catching up; beyond this the catch-up gives up (and logs it). */
const MAX_HELD_WHILE_CATCHING_UP = 50_000;
/** Pause between catch-up attempts while the command connection is still down. */
const CATCH_UP_RETRY_MS = 250;

const E = 0x45;
const C = 0x43;
const NL = 0x0a;

type Held = { kind: 'event'; ev: HubEvent; frame: Buffer } | { kind: 'control'; msg: ControlMessage };

/** What a RedisBroker is built from. */
export interface RedisBrokerOptions {
  prefix: string;
  historySize: number;
  errors: RedisErrors;
  logger: RedisLogger;
  /** Confirms publishes on replicas (REDIS_WAIT_REPLICAS > 0). */
  confirm?: ReplicaConfirm;
}

/**
 * History in a Redis stream and fan-out on one pub/sub channel. One Lua script assigns the id,
 * appends (trimmed to exactly HISTORY_SIZE) and publishes the pre-encoded frame, so no process
 * sees an event in history that is not delivered, or the other way round. Every event — this
 * process's own included — reaches the listener only through the subscription, in bus order.
 * After the subscription is cut and restored (a Redis restart, a failover to another primary),
 * the events published meanwhile are read back from history, so live streams get no gap; an
 * event with an id at or below the last delivered one is never handed over again.
 */
export class RedisBroker implements Broker {
  private readonly keys: { seq: string; history: string; bus: string };
  private listener: BrokerListener | undefined;
  /** The newest event id handed to the listener: nothing older or equal is handed over again. */
  private lastDelivered: string | null = null;
  /** Resolves once lastDelivered holds its baseline (what history held when this process subscribed). */
  private baseline: Promise<void> = Promise.resolve();
  /** Non-null from a cut of the subscription until the catch-up is done: live messages wait here, in order. */
  private held: Held[] | null = null;
  private closing = false;
  private catchUpRun: Promise<void> | undefined;
  private catchUpAgain = false;
  /** The newest events seen on the bus: replays after a recent id need no Redis read. */
  private readonly recent: RecentHistory;
  /** History reads in flight, by range: concurrent replays of the same range share one round trip. */
  private readonly reads = new Map<string, Promise<HistorySlice>>();

  constructor(private readonly cmd: RedisClient, private readonly bus: BusSubscription, private readonly opts: RedisBrokerOptions) {
    const p = opts.prefix;
    this.keys = { seq: `${p}seq`, history: `${p}history`, bus: `${p}bus` };
    // The answer key is optional: the key count goes with each call.
    cmd.defineCommand('roomcastPublish', { lua: PUBLISH_LUA });
    cmd.defineCommand('roomcastHistoryInfo', { numberOfKeys: 1, lua: HISTORY_INFO_LUA });
    this.recent = new RecentHistory(opts.historySize);
  }

  async publish(drafts: readonly EventDraft[], answer?: AnswerRecord): Promise<HubEvent[]> {
    const ts = new Date().toISOString();
    const keys = [this.keys.seq, this.keys.history, this.keys.bus];
    if (answer !== undefined) keys.push(answer.key);
    const args: (string | number)[] = [
      this.opts.historySize, this.bus.publishCommand, this.lastDelivered ?? '0', drafts.length, answer?.expected ?? '', answer?.ttlMs ?? 0,
    ];
    const made: { h: Header; dataJson: string }[] = [];
    for (const draft of drafts) {
      const dataJson = draft.dataJson ?? JSON.stringify(draft.data ?? null);
      const h: Header = {
        t: draft.type, r: draft.room, u: draft.userId, c: draft.connectionId, f: draft.filters,
        s: draft.sender, o: draft.ownerUserId, ts,
      };
      const header = JSON.stringify(h);
      const f = eventFrameParts(frameFields(h));
      args.push(header, f.afterId, f.afterDataId, dataJson, f.afterData);
      made.push({ h, dataJson });
    }
    if (answer !== undefined) args.push(...answer.parts);
    const run = this.cmd.roomcastPublish(keys.length, ...keys, ...args);
    const ids = await this.opts.errors.guard('publish', run, { type: drafts[0]?.type, events: drafts.length });
    return ids.map((id, i) => {
      const { h, dataJson } = made[i]!;
      return makeEvent(id, h, () => dataJson);
    });
  }

  /** True once the events are on REDIS_WAIT_REPLICAS replicas (at once without it); false when one was lost in a failover. */
  async confirm(ids: readonly string[]): Promise<boolean> {
    return this.opts.confirm === undefined ? true : this.opts.confirm.confirm(ids);
  }

  async publishControl(message: ControlMessage): Promise<void> {
    const payload = `C${JSON.stringify(message)}`;
    const sent = this.bus.publishCommand === 'SPUBLISH' ? this.cmd.spublish(this.keys.bus, payload) : this.cmd.publish(this.keys.bus, payload);
    await this.opts.errors.guard('publish-control', sent, { kind: message.kind });
  }

  async subscribe(listener: BrokerListener): Promise<void> {
    this.listener = listener;
    let baselineSet!: () => void;
    this.baseline = new Promise((resolve) => {
      baselineSet = resolve;
    });
    await this.bus.start(this.keys.bus, {
      message: (payload) => this.onMessage(payload),
      // From the cut on, live messages are held until history has been read back.
      lost: () => {
        this.held ??= [];
      },
      resubscribed: () => {
        if (this.closing) return;
        this.opts.logger.warn({ channel: this.keys.bus, after: this.lastDelivered }, 'resubscribed to the bus; catching up from history');
        this.held ??= [];
        // A cut during a catch-up: that catch-up reads history once more before it lets live messages through.
        if (this.catchUpRun !== undefined) this.catchUpAgain = true;
        this.catchUpRun ??= this.catchUp().finally(() => {
          this.catchUpRun = undefined;
        });
      },
    });
    try {
      // The baseline of a later catch-up: what history held when this process subscribed.
      const info = await this.historyInfo();
      this.lastDelivered ??= info.newestId;
      this.recent.reset(this.lastDelivered);
    } finally {
      baselineSet();
    }
  }

  /** Delivers what history holds after the last delivered id, then what arrived meanwhile. */
  private async catchUp(): Promise<void> {
    await this.baseline;
    do {
      this.catchUpAgain = false;
      await this.readBack();
    } while (this.catchUpAgain && !this.closing);
    // The store may have lost what the window holds (a failover, a restart without persistence):
    // from here on replays of older ids are read from the store, like every other process's.
    this.recent.reset(this.lastDelivered);
    const held = this.held ?? [];
    // Still cut (a new cut came after the last read): keep holding until the next catch-up.
    this.held = this.bus.subscribed ? null : [];
    for (const m of held) {
      if (m.kind === 'event') this.deliverEvent(m.ev, m.frame);
      else this.deliverControl(m.msg);
    }
  }

  /** Delivers what history holds after the last delivered id; retries while the store is unreachable. */
  private async readBack(): Promise<void> {
    for (;;) {
      if (this.closing) return;
      try {
        for (;;) {
          // From Redis, never from the recent window: what was published meanwhile is not in it.
          const slice = await this.readHistory(this.lastDelivered, CATCH_UP_PAGE);
          for (const ev of slice.events) this.deliverEvent(ev, undefined);
          if (!slice.more) break;
        }
        break;
      } catch {
        // historyAfter recorded it; try again while the held queue stays bounded
        if ((this.held?.length ?? 0) > MAX_HELD_WHILE_CATCHING_UP) {
          this.opts.logger.error({ held: this.held?.length }, 'catch-up after resubscription abandoned; live streams may have missed events');
          this.recent.invalidate();
          return;
        }
        await new Promise((r) => setTimeout(r, CATCH_UP_RETRY_MS));
      }
    }
  }

  private onMessage(message: Buffer): void {
    try {
      if (message[0] === E) {
        const id = message.toString('latin1', 1, 1 + EVENT_ID_DIGITS);
        const nl = message.indexOf(NL, 1 + EVENT_ID_DIGITS);
        const hlen = Number(message.toString('latin1', 1 + EVENT_ID_DIGITS, nl));
        const h = JSON.parse(message.toString('utf8', nl + 1, nl + 1 + hlen)) as Header;
        const frame = message.subarray(nl + 1 + hlen);
        const ev = makeEvent(id, h, () => {
          const { start, end } = dataBounds(eventFrameParts(frameFields(h)), frame.length);
          return frame.toString('utf8', start, end);
        });
        if (this.held !== null) this.held.push({ kind: 'event', ev, frame });
        else this.deliverEvent(ev, frame);
      } else if (message[0] === C) {
        const msg = JSON.parse(message.toString('utf8', 1)) as ControlMessage;
        if (this.held !== null) this.held.push({ kind: 'control', msg });
        else this.deliverControl(msg);
      }
    } catch (err) {
      this.opts.errors.record('bus-message', err, { bytes: message.length });
    }
  }

  private deliverEvent(ev: HubEvent, frame: Buffer | undefined): void {
    if (this.lastDelivered !== null && ev.id <= this.lastDelivered) return;
    this.lastDelivered = ev.id;
    this.recent.push(ev);
    try {
      this.listener?.onEvent(ev, frame);
    } catch (err) {
      this.opts.logger.error({ err, id: ev.id }, 'event listener failed');
    }
  }

  private deliverControl(msg: ControlMessage): void {
    try {
      this.listener?.onControl(msg);
    } catch (err) {
      this.opts.logger.error({ err, kind: msg.kind }, 'control listener failed');
    }
  }

  historyAfter(after: string | null, limit: number): Promise<HistorySlice> {
    const local = after === null ? undefined : this.recent.after(after, limit);
    if (local !== undefined) return Promise.resolve(local);
    const key = `${after ?? '-'}:${limit}`;
    let read = this.reads.get(key);
    if (read === undefined) {
      read = this.readHistory(after, limit).finally(() => this.reads.delete(key));
      this.reads.set(key, read);
    }
    return read;
  }

  private async readHistory(after: string | null, limit: number): Promise<HistorySlice> {
    const start = after === null ? '-' : `(${eventToEntryId(after)}`;
    const rows = await this.opts.errors.guard('history-after',
      this.cmd.xrange(this.keys.history, start, '+', 'COUNT', limit + 1), { after, limit });
    const events = rows.slice(0, limit).map(([entryId, fields]) => fieldsToEvent(entryId, fields));
    return { events, more: rows.length > limit };
  }

  async historyHas(id: string): Promise<boolean> {
    if (!/^\d{16}$/.test(id)) return false;
    const local = this.recent.has(id);
    if (local !== undefined) return local;
    const entry = eventToEntryId(id);
    const rows = await this.opts.errors.guard('history-has', this.cmd.xrange(this.keys.history, entry, entry, 'COUNT', 1), { id });
    return rows.length > 0;
  }

  async historyInfo(): Promise<HistoryInfo> {
    const run = this.cmd.roomcastHistoryInfo(this.keys.history);
    const [size, oldest, newest] = await this.opts.errors.guard('history-info', run);
    return {
      size,
      oldestId: oldest ? entryToEventId(oldest) : null,
      newestId: newest ? entryToEventId(newest) : null,
    };
  }

  isHealthy(): boolean {
    return !this.closing && this.cmd.status === 'ready' && this.bus.subscribed;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.listener = undefined;
    // The clients themselves are closed by the backend, which owns them.
  }
}
