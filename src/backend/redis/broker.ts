import type { Redis } from 'ioredis';
import { EVENT_ID_DIGITS } from '../../core/event-id.js';
import type { EventDraft, HubEvent, Metadata } from '../../core/events.js';
import { dataBounds, eventFrameParts, type FrameFields } from '../../core/frame.js';
import type { Broker, BrokerListener, ControlMessage, HistoryInfo, HistorySlice } from '../../core/ports.js';
import { HISTORY_INFO_LUA, PUBLISH_LUA } from './broker-lua.js';
import type { RedisErrors, RedisLogger } from './client.js';
import './commands.js';
import { RecentHistory } from './recent-history.js';

/** An event's fields other than id and data, as kept in the stream (`h`) and sent on the bus. */
interface Header {
  t: string;
  r: string | null;
  u: string | null;
  c: string | null;
  f: Metadata | null;
  s: string;
  o: string | null;
  ts: string;
}

/** Events read per round trip when catching up after a resubscription. */
const CATCH_UP_PAGE = 500;
/** Live messages held while catching up; beyond this the catch-up gives up (and logs it). */
const MAX_HELD_WHILE_CATCHING_UP = 50_000;
/** Pause between catch-up attempts while the command connection is still down. */
const CATCH_UP_RETRY_MS = 250;

const E = 0x45;
const C = 0x43;
const NL = 0x0a;

/** `1712…-0` (a stream entry id) → the 16-digit event id. */
function entryToEventId(entryId: string): string {
  const dash = entryId.indexOf('-');
  return (dash < 0 ? entryId : entryId.slice(0, dash)).padStart(EVENT_ID_DIGITS, '0');
}

/** A 16-digit event id → the stream entry id it was stored under. */
function eventToEntryId(id: string): string {
  return `${id.replace(/^0+(?=\d)/, '')}-0`;
}

/** The frame fields a header carries. */
function frameFields(h: Header): FrameFields {
  return { type: h.t, room: h.r, userId: h.u, sender: h.s, timestamp: h.ts };
}

/** A HubEvent whose data JSON is read (and parsed) only when someone asks for it. */
function makeEvent(id: string, h: Header, readDataJson: () => string): HubEvent {
  let json: string | undefined;
  let parsed: { v: unknown } | undefined;
  const dataJson = (): string => (json ??= readDataJson());
  return {
    id, type: h.t, room: h.r, userId: h.u, connectionId: h.c, filters: h.f, sender: h.s, ownerUserId: h.o, timestamp: h.ts,
    get dataJson() { return dataJson(); },
    get data() { return (parsed ??= { v: JSON.parse(dataJson()) as unknown }).v; },
  };
}

function fieldsToEvent(entryId: string, fields: string[]): HubEvent {
  let header = '{}';
  let data = 'null';
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'h') header = fields[i + 1] as string;
    else if (fields[i] === 'd') data = fields[i + 1] as string;
  }
  return makeEvent(entryToEventId(entryId), JSON.parse(header) as Header, () => data);
}

type Held = { kind: 'event'; ev: HubEvent; frame: Buffer } | { kind: 'control'; msg: ControlMessage };

/** What a RedisBroker is built from. */
export interface RedisBrokerOptions {
  prefix: string;
  historySize: number;
  errors: RedisErrors;
  logger: RedisLogger;
}

/**
 * History in a Redis stream and fan-out on one pub/sub channel. One Lua script assigns the id,
 * appends (trimmed to exactly HISTORY_SIZE) and publishes the pre-encoded frame, so no process
 * sees an event in history that is not delivered, or the other way round. Every event — this
 * process's own included — reaches the listener only through the subscription, in bus order.
 * After the subscription is lost and restored, the events published meanwhile are read back
 * from history, so live streams get no gap.
 */
export class RedisBroker implements Broker {
  private readonly keys: { seq: string; history: string; bus: string };
  private listener: BrokerListener | undefined;
  /** The newest event id handed to the listener: nothing older or equal is handed over again. */
  private lastDelivered: string | null = null;
  /** Non-null while catching up from history: live messages wait here, in order. */
  private held: Held[] | null = null;
  private subscribed = false;
  private closing = false;
  private catchUpRun: Promise<void> | undefined;
  /** The newest events seen on the bus: replays after a recent id need no Redis read. */
  private readonly recent: RecentHistory;
  /** History reads in flight, by range: concurrent replays of the same range share one round trip. */
  private readonly reads = new Map<string, Promise<HistorySlice>>();

  constructor(private readonly cmd: Redis, private readonly sub: Redis, private readonly opts: RedisBrokerOptions) {
    const p = opts.prefix;
    this.keys = { seq: `${p}seq`, history: `${p}history`, bus: `${p}bus` };
    cmd.defineCommand('roomcastPublish', { numberOfKeys: 2, lua: PUBLISH_LUA });
    cmd.defineCommand('roomcastHistoryInfo', { numberOfKeys: 1, lua: HISTORY_INFO_LUA });
    this.recent = new RecentHistory(opts.historySize);
  }

  async publish(draft: EventDraft): Promise<HubEvent> {
    const dataJson = draft.dataJson ?? JSON.stringify(draft.data ?? null);
    const h: Header = {
      t: draft.type, r: draft.room, u: draft.userId, c: draft.connectionId, f: draft.filters,
      s: draft.sender, o: draft.ownerUserId, ts: new Date().toISOString(),
    };
    const header = JSON.stringify(h);
    const f = eventFrameParts(frameFields(h));
    const run = this.cmd.roomcastPublish(
      this.keys.seq, this.keys.history, this.keys.bus, this.opts.historySize, header, f.afterId, f.afterDataId, dataJson, f.afterData,
    );
    const id = await this.opts.errors.guard('publish', run, { type: draft.type });
    return makeEvent(id, h, () => dataJson);
  }

  async publishControl(message: ControlMessage): Promise<void> {
    await this.opts.errors.guard('publish-control', this.cmd.publish(this.keys.bus, `C${JSON.stringify(message)}`), { kind: message.kind });
  }

  async subscribe(listener: BrokerListener): Promise<void> {
    this.listener = listener;
    this.sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => this.onMessage(message));
    // Resubscription is ours (autoResubscribe is off), so we know when it is done and can catch up.
    this.sub.on('ready', () => {
      if (this.closing) return;
      void this.resubscribe();
    });
    this.sub.on('close', () => {
      this.subscribed = false;
    });
    if (this.sub.status === 'ready') {
      await this.opts.errors.guard('subscribe', this.sub.subscribe(this.keys.bus));
      this.subscribed = true;
    }
    // The baseline of a later catch-up: what history held when this process subscribed.
    const info = await this.historyInfo();
    this.lastDelivered ??= info.newestId;
    this.recent.reset(this.lastDelivered);
  }

  private async resubscribe(): Promise<void> {
    try {
      await this.sub.subscribe(this.keys.bus);
    } catch (err) {
      this.opts.errors.record('resubscribe', err, { channel: this.keys.bus });
      return; // the client reconnects and 'ready' fires again
    }
    this.opts.logger.warn({ channel: this.keys.bus, after: this.lastDelivered }, 'resubscribed to the bus; catching up from history');
    this.held ??= [];
    this.subscribed = true;
    this.catchUpRun ??= this.catchUp().finally(() => {
      this.catchUpRun = undefined;
    });
  }

  /** Delivers what history holds after the last delivered id, then what arrived meanwhile. */
  private async catchUp(): Promise<void> {
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
          break;
        }
        await new Promise((r) => setTimeout(r, CATCH_UP_RETRY_MS));
      }
    }
    const held = this.held ?? [];
    this.held = null;
    for (const m of held) {
      if (m.kind === 'event') this.deliverEvent(m.ev, m.frame);
      else this.deliverControl(m.msg);
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
    return !this.closing && this.cmd.status === 'ready' && this.sub.status === 'ready' && this.subscribed;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.listener = undefined;
    // The clients themselves are closed by the backend, which owns them.
  }
}
