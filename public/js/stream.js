// @ts-check
// The dashboard's one stream, through the client library the hub serves at /sdk/roomcast.js:
// it resumes after the last event shown, drops repeats, backs off and reconnects by itself.
// Authentication is the HttpOnly cookie POST /auth/login sets; the page never sees the token.
import { RoomcastClient } from '../sdk/roomcast.js';

/**
 * @typedef {import('../sdk/roomcast.js').RoomcastEvent} RoomcastEvent
 * @typedef {import('../sdk/roomcast.js').RoomcastError} RoomcastError
 * @typedef {import('../sdk/roomcast.js').ConnectedInfo} ConnectedInfo
 * @typedef {import('../sdk/roomcast.js').GapInfo} GapInfo
 * @typedef {import('../sdk/roomcast.js').PresenceInfo} PresenceInfo
 * @typedef {import('../sdk/roomcast.js').ShutdownInfo} ShutdownInfo
 * @typedef {import('../sdk/roomcast.js').SubscriptionState} SubscriptionState
 * @typedef {import('../sdk/roomcast.js').Subscription} Subscription
 */

/**
 * What the page does with what the stream says.
 * @typedef {object} StreamHandlers
 * @property {(ev: RoomcastEvent, duplicatesDropped: number) => void} event a published event, once
 * @property {(type: string, data: unknown) => void} control every control event, for the log
 * @property {(info: ConnectedInfo) => void} connected
 * @property {(gap: GapInfo) => void} gap
 * @property {(joined: boolean, roomId: string) => void} room
 * @property {(joined: boolean, p: PresenceInfo) => void} presence
 * @property {(state: SubscriptionState) => void} state
 * @property {() => void} shutdown
 * @property {(err: RoomcastError | null) => void} closed the stream ended and will not come back by itself
 */

/** A person is watching: never wait longer than this between reconnect attempts, in milliseconds. */
const MAX_RECONNECT_WAIT_MS = 5_000;
/** Control events shown in the log, under the hub's names. */
const LOGGED = /** @type {const} */ (['connected', 'room-joined', 'room-left', 'presence-join', 'presence-leave', 'token-expired', 'token-revoked', 'disconnected', 'shutdown']);

export class DashboardStream {
  /** @param {StreamHandlers} on */
  constructor(on) {
    this.on = on;
    /** @type {RoomcastClient | null} */
    this.client = null;
    /** @type {Subscription | null} */
    this.sub = null;
  }

  /**
   * Opens the stream, naming `rooms` at connect and resuming after `lastEventId`.
   * @param {string[]} rooms
   * @param {string | null} lastEventId
   */
  start(rooms, lastEventId) {
    this.stop();
    const client = new RoomcastClient({ url: location.origin, credentials: 'same-origin', backoff: { maxMs: MAX_RECONNECT_WAIT_MS } });
    const sub = client.subscribe({ rooms, lastEventId });
    this.client = client;
    this.sub = sub;
    const on = this.on;
    /** @type {RoomcastError | null} */
    let lastError = null;
    sub.on('event', (ev) => on.event(ev, sub.duplicatesDropped));
    for (const type of LOGGED) sub.on(type, (data) => on.control(type, data));
    sub.on('connected', (info) => on.connected(info));
    sub.on('gap', (gap) => {
      on.control('history-gap', gap);
      on.gap(gap);
    });
    sub.on('room-joined', ({ roomId }) => on.room(true, roomId));
    sub.on('room-left', ({ roomId }) => on.room(false, roomId));
    sub.on('presence-join', (p) => on.presence(true, p));
    sub.on('presence-leave', (p) => on.presence(false, p));
    sub.on('shutdown', () => on.shutdown());
    sub.on('error', (err) => {
      lastError = err;
    });
    sub.on('state', (s) => {
      on.state(s);
      if (s === 'closed' && this.sub === sub) {
        this.stop();
        on.closed(lastError);
      }
    });
  }

  /** Closes the stream (no callbacks follow). */
  stop() {
    const client = this.client;
    this.client = null;
    this.sub = null;
    client?.close();
  }

  /** True while the stream is open. */
  get open() {
    return this.sub?.state === 'open';
  }

  /** The last published event handed out, or null. */
  get lastEventId() {
    return this.sub?.lastEventId ?? null;
  }

  /** Joins a room for the user; later reconnects name it too. @param {string} room */
  join(room) {
    return this.requireClient().join(room);
  }

  /** Leaves a room for the user; reconnects stop naming it. @param {string} room */
  leave(room) {
    return this.requireClient().leave(room);
  }

  requireClient() {
    if (this.client === null) throw new Error('not connected');
    return this.client;
  }
}
