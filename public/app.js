// roomcast dashboard: one EventSource per page, cookie authentication, no build step.
// Everything is rendered with textContent and DOM APIs: no innerHTML, no inline script or style.
import { api, describeError, ID_PATTERN } from './api.js';

/** @param {string} id */
const $ = (id) => /** @type {any} */ (document.getElementById(id));

/** Published event types the page listens for from the start. EventSource has no wildcard listener. */
const DEFAULT_TYPES = ['time', 'stock-update', 'chat-message', 'message', 'announcement', 'notice', 'notification', 'alert', 'broadcast', 'update', 'news', 'system', 'test'];
/** Events the hub itself sends; they carry no id. */
const CONTROL_TYPES = ['connected', 'history-gap', 'room-joined', 'room-left', 'presence-join', 'presence-leave', 'token-expired', 'shutdown'];
/** Types also shown as a pop-up notification (as is anything addressed to this user alone). */
const TOAST_TYPES = new Set(['announcement', 'notice', 'notification', 'alert', 'broadcast', 'news', 'system']);
const FEED_TYPES = new Set(['time', 'stock-update', 'chat-message']);

const MAX_LOG = 500;
const MAX_LOG_DOM = 200;
const MAX_SEEN = 5000;
const MAX_CHAT = 100;
const SPARK_POINTS = 40;
const ROOMS_REFRESH_MS = 10_000;
const STATS_REFRESH_MS = 5_000;
const TYPES_KEY = 'roomcast.types';

const state = {
  /** @type {{ id: string, role: string } | null} */
  user: null,
  /** @type {EventSource | null} */
  es: null,
  /** Rooms named in the open stream's URL (a browser reconnect rejoins them). */
  /** @type {string[]} */
  esRooms: [],
  /** True when the stream's URL names a room the person has since left. */
  urlStale: false,
  /** @type {string | null} */
  lastEventId: null,
  /** @type {string | null} */
  connectionId: null,
  everLive: false,
  failures: 0,
  reconnectTimer: 0,
  roomsTimer: 0,
  statsTimer: 0,
  presenceTimer: 0,
  /** @type {Set<string>} */
  myRooms: new Set(),
  /** @type {Map<string, Set<string>>} */
  members: new Map(),
  /** @type {Set<string>} */
  seen: new Set(),
  /** @type {string[]} */
  seenOrder: [],
  duplicates: 0,
  received: 0,
  /** @type {LogEntry[]} */
  log: [],
  /** @type {Set<string>} */
  logTypes: new Set(),
  /** @type {Set<string>} */
  listening: new Set(DEFAULT_TYPES),
  /** @type {Map<string, { tile: HTMLElement, price: HTMLElement, change: HTMLElement, line: Element, history: number[] }>} */
  stocks: new Map(),
};

/**
 * @typedef {{ id: string | null, type: string, room: string | null, userId: string | null, sender: string | null,
 *   data: unknown, at: string, control: boolean }} LogEntry
 */

// ---------------------------------------------------------------- small helpers

/**
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [text]
 */
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** @param {string | undefined | null} iso */
function clockText(iso) {
  const d = iso ? new Date(iso) : new Date();
  if (Number.isNaN(d.getTime())) return '--:--:--';
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

/** @param {unknown} data */
function summarize(data, max = 300) {
  let text;
  try {
    text = typeof data === 'string' ? data : JSON.stringify(data);
  } catch {
    text = String(data);
  }
  if (text === undefined) text = '';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** @param {string} key */
function readJson(key) {
  try {
    const raw = localStorage.getItem(key);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

/** @param {string} key @param {unknown} value */
function writeJson(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Private mode or full storage: the page still works, it just forgets.
  }
}

const roomsKey = () => `roomcast.rooms.${state.user ? state.user.id : ''}`;

/** Rooms this person joined from this browser; named in the stream URL so a reconnect replays them too. */
function desiredRooms() {
  const saved = readJson(roomsKey());
  return Array.isArray(saved) ? saved.filter((r) => typeof r === 'string' && ID_PATTERN.test(r)) : [];
}

/** @param {string} room @param {boolean} wanted */
function setDesired(room, wanted) {
  const rooms = new Set(desiredRooms());
  if (wanted) rooms.add(room);
  else rooms.delete(room);
  writeJson(roomsKey(), [...rooms]);
}

// ---------------------------------------------------------------- connection indicator and notices

const CONN_LABELS = {
  offline: 'Not connected',
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  expired: 'Session expired',
};

/** @param {keyof typeof CONN_LABELS} s */
function setConn(s) {
  const conn = $('conn');
  if (conn.dataset.state === s) return;
  conn.dataset.state = s;
  $('conn-label').textContent = CONN_LABELS[s];
}

/** @type {(() => void) | null} */
let noticeAction = null;

/**
 * @param {'info' | 'warning' | 'error'} kind
 * @param {string} topic what the notice is about, so a later event can clear just its own notice
 * @param {string} text
 * @param {string} [actionLabel]
 * @param {() => void} [action]
 */
function showNotice(kind, topic, text, actionLabel, action) {
  const box = $('notice');
  box.dataset.kind = kind;
  box.dataset.topic = topic;
  $('notice-text').textContent = text;
  const btn = $('notice-action');
  noticeAction = action ?? null;
  btn.hidden = !action;
  btn.textContent = actionLabel ?? '';
  box.hidden = false;
}

/** @param {string} [topic] hide only when the notice is about this */
function hideNotice(topic) {
  const box = $('notice');
  if (topic && box.dataset.topic !== topic) return;
  box.hidden = true;
  noticeAction = null;
}

/** @param {string} title @param {string} text */
function toast(title, text) {
  const box = $('toasts');
  const t = el('div', 'toast');
  t.append(el('strong', '', title), el('span', '', text));
  box.append(t);
  while (box.children.length > 4) box.firstElementChild.remove();
  setTimeout(() => t.remove(), 7000);
}

// ---------------------------------------------------------------- the stream

function closeStream() {
  if (state.es) {
    state.es.close();
    state.es = null;
  }
  clearTimeout(state.reconnectTimer);
}

/** Opens the stream, resuming after the last event this page saw (if any). */
function openStream() {
  closeStream();
  const rooms = state.failures >= 3 ? [] : desiredRooms();
  const params = new URLSearchParams();
  if (rooms.length > 0) params.set('rooms', rooms.join(','));
  if (state.lastEventId) params.set('lastEventId', state.lastEventId);
  const qs = params.toString();
  const es = new EventSource(`/events${qs ? `?${qs}` : ''}`, { withCredentials: true });
  state.es = es;
  state.esRooms = rooms;
  state.urlStale = false;
  setConn(state.everLive ? 'reconnecting' : 'connecting');
  for (const type of state.listening) es.addEventListener(type, onPublished);
  for (const type of CONTROL_TYPES) es.addEventListener(type, (e) => onControl(type, /** @type {MessageEvent} */ (e)));
  es.addEventListener('error', () => onStreamError(es));
}

/** @param {number} ms */
function scheduleReopen(ms) {
  clearTimeout(state.reconnectTimer);
  state.reconnectTimer = setTimeout(() => {
    if (state.user && !state.es) openStream();
  }, ms);
}

/** @param {EventSource} es */
async function onStreamError(es) {
  if (es !== state.es) return;
  if (es.readyState === EventSource.CONNECTING) {
    // A drop: the browser reconnects by itself and sends Last-Event-ID.
    setConn('reconnecting');
    if (state.urlStale) {
      // ...but its URL would rejoin a room the person left, so reconnect with the current list instead.
      closeStream();
      scheduleReopen(1000);
    }
    return;
  }
  // CLOSED: the hub answered with an error status; EventSource gives up, so this page retries itself.
  closeStream();
  setConn('reconnecting');
  state.failures += 1;
  const r = await api('POST', '/auth/refresh');
  if (!state.user || state.es) return;
  if (r.status === 401) {
    sessionExpired('Your session has ended. Log in again to pick up where you left off.');
    return;
  }
  scheduleReopen(Math.min(1000 * 2 ** (state.failures - 1), 15_000));
}

/** @param {MessageEvent} e */
function onPublished(e) {
  let ev;
  try {
    ev = JSON.parse(e.data);
  } catch {
    return;
  }
  if (!ev || typeof ev !== 'object') return;
  const id = typeof ev.id === 'string' && ev.id !== '' ? ev.id : e.lastEventId || null;
  if (id) {
    if (state.seen.has(id)) {
      // A replay that overlaps what this page already showed: never show an event twice.
      state.duplicates += 1;
      $('event-log').dataset.duplicates = String(state.duplicates);
      return;
    }
    state.seen.add(id);
    state.seenOrder.push(id);
    if (state.seenOrder.length > MAX_SEEN) state.seen.delete(/** @type {string} */ (state.seenOrder.shift()));
    state.lastEventId = id;
  }
  const type = typeof ev.type === 'string' ? ev.type : e.type;
  const data = ev.data;
  if (type === 'time') updateClock(data);
  else if (type === 'stock-update') updateStock(data);
  else if (type === 'chat-message') addChat(ev);
  const mine = state.user && ev.userId === state.user.id;
  if (TOAST_TYPES.has(type) || (mine && !FEED_TYPES.has(type))) {
    const text = data && typeof data === 'object' && typeof data.text === 'string' ? data.text
      : data && typeof data === 'object' && typeof data.message === 'string' ? data.message : summarize(data, 160);
    toast(`${type}${mine ? ' for you' : ev.room ? ` in ${ev.room}` : ''} · from ${ev.sender ?? 'unknown'}`, text);
  }
  addLog({ id, type, room: ev.room ?? null, userId: ev.userId ?? null, sender: ev.sender ?? null, data, at: ev.timestamp ?? new Date().toISOString(), control: false });
}

/** @param {string} type @param {MessageEvent} e */
function onControl(type, e) {
  let d = {};
  try {
    d = JSON.parse(e.data) ?? {};
  } catch {
    d = {};
  }
  addLog({ id: null, type, room: d.roomId ?? null, userId: null, sender: null, data: d, at: new Date().toISOString(), control: true });
  switch (type) {
    case 'connected': {
      state.connectionId = d.connectionId ?? null;
      state.myRooms = new Set(Array.isArray(d.rooms) ? d.rooms : []);
      state.everLive = true;
      state.failures = 0;
      setConn('live');
      hideNotice('connection');
      // Rooms joined from this browser that this connection is not in (e.g. the hub lost its memory): join again.
      for (const room of desiredRooms()) if (!state.myRooms.has(room)) void joinRoom(room, { quiet: true });
      for (const room of state.myRooms) void fetchMembers(room);
      renderRooms();
      void refreshAllRooms();
      break;
    }
    case 'history-gap':
      // The hub no longer holds everything since our last event; its ids may restart, so forget the old ones.
      state.seen.clear();
      state.seenOrder = [];
      showNotice('warning', 'gap',
        `Some events were missed while you were away: the hub no longer keeps everything after event ${d.lastEventId ?? '?'}` +
        `${d.oldestAvailable ? ` (the oldest it keeps is ${d.oldestAvailable})` : ''}. What follows is complete from here on.`,
        'Reload the page', () => location.reload());
      break;
    case 'room-joined':
      if (d.roomId) {
        state.myRooms.add(d.roomId);
        void fetchMembers(d.roomId);
        renderRooms();
        void refreshAllRooms();
      }
      break;
    case 'room-left':
      if (d.roomId) {
        state.myRooms.delete(d.roomId);
        state.members.delete(d.roomId);
        if (d.roomId === 'stocks') clearStocks();
        renderRooms();
        void refreshAllRooms();
      }
      break;
    case 'presence-join':
    case 'presence-leave': {
      if (!d.roomId || !d.userId) break;
      let set = state.members.get(d.roomId);
      if (!set && state.myRooms.has(d.roomId)) state.members.set(d.roomId, (set = new Set()));
      if (set) {
        if (type === 'presence-join') set.add(d.userId);
        else set.delete(d.userId);
      }
      renderRooms();
      clearTimeout(state.presenceTimer);
      state.presenceTimer = setTimeout(() => void refreshAllRooms(), 500);
      break;
    }
    case 'token-expired':
      closeStream();
      sessionExpired('Your session has expired. Log in again to pick up where you left off.');
      break;
    case 'shutdown':
      setConn('reconnecting');
      showNotice('info', 'connection', 'The hub is restarting. This page reconnects by itself and will show what was published meanwhile.');
      break;
    default:
      break;
  }
}

/** @param {string} message */
function sessionExpired(message) {
  closeStream();
  stopTimers();
  setConn('expired');
  showNotice('error', 'session', message, 'Log in again', () => showLogin(true));
}

// ---------------------------------------------------------------- feeds: time, stocks, chat

/** @param {any} data */
function updateClock(data) {
  const iso = data && typeof data === 'object' ? data.iso : null;
  const clock = $('clock');
  // The feed sends the hub's wall clock as "HH:MM:SS"; shown as sent.
  clock.textContent = data && typeof data.time === 'string' ? data.time : clockText(iso);
  if (typeof iso === 'string') clock.dateTime = iso;
}

function clearStocks() {
  state.stocks.clear();
  $('stock-tiles').replaceChildren();
  $('stocks-empty').hidden = false;
}

/** @param {any} d */
function updateStock(d) {
  if (!d || typeof d !== 'object' || typeof d.symbol !== 'string' || typeof d.price !== 'number') return;
  let s = state.stocks.get(d.symbol);
  if (!s) {
    const NS = 'http://www.w3.org/2000/svg';
    const tile = el('article', 'tile');
    tile.dataset.symbol = d.symbol;
    const price = el('span', 'price');
    const change = el('span', 'change');
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('class', 'spark');
    svg.setAttribute('viewBox', '0 0 100 30');
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('aria-hidden', 'true');
    const line = document.createElementNS(NS, 'polyline');
    svg.append(line);
    tile.append(el('h3', 'symbol', d.symbol), price, change, svg);
    s = { tile, price, change, line, history: [] };
    state.stocks.set(d.symbol, s);
    const tiles = $('stock-tiles');
    const after = [...tiles.children].find((t) => /** @type {HTMLElement} */ (t).dataset.symbol > d.symbol);
    tiles.insertBefore(tile, after ?? null);
    $('stocks-empty').hidden = true;
  }
  const change = typeof d.change === 'number' ? d.change : 0;
  const pct = typeof d.changePercent === 'number' ? d.changePercent : 0;
  const sign = change > 0 ? '+' : change < 0 ? '−' : '±';
  s.history.push(d.price);
  if (s.history.length > SPARK_POINTS) s.history.shift();
  s.price.textContent = d.price.toFixed(2);
  s.change.textContent = `${sign}${Math.abs(change).toFixed(2)} (${sign}${Math.abs(pct).toFixed(2)}%)`;
  s.tile.classList.toggle('up', change > 0);
  s.tile.classList.toggle('down', change < 0);
  s.tile.dataset.price = String(d.price);
  s.tile.dataset.updates = String(Number(s.tile.dataset.updates ?? '0') + 1);
  s.tile.setAttribute('aria-label', `${d.symbol} ${d.price.toFixed(2)}, ${change > 0 ? 'up' : change < 0 ? 'down' : 'unchanged'} ${Math.abs(pct).toFixed(2)} percent`);
  const min = Math.min(...s.history);
  const max = Math.max(...s.history);
  const span = max - min || 1;
  const n = s.history.length;
  const points = s.history.map((p, i) => {
    const x = n === 1 ? 0 : (i / (n - 1)) * 100;
    const y = max === min ? 15 : 28 - ((p - min) / span) * 26;
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  if (n === 1) points.push(`100,${points[0].split(',')[1]}`);
  s.line.setAttribute('points', points.join(' '));
  const tile = s.tile;
  tile.classList.remove('flash');
  void tile.offsetWidth;
  tile.classList.add('flash');
  setTimeout(() => tile.classList.remove('flash'), 700);
}

/** @param {any} ev */
function addChat(ev) {
  const d = ev.data && typeof ev.data === 'object' ? ev.data : {};
  const author = typeof d.username === 'string' && d.username ? d.username : typeof d.userId === 'string' ? d.userId : ev.sender ?? '?';
  const li = el('li', 'msg');
  if (state.user && d.userId === state.user.id) li.classList.add('mine');
  if (ev.sender === 'system' || d.userId === 'bot') li.classList.add('bot');
  li.dataset.id = ev.id ?? '';
  li.dataset.user = typeof d.userId === 'string' ? d.userId : '';
  li.append(el('span', 'author', author), el('span', 'text', typeof d.text === 'string' ? d.text : summarize(d)), el('time', 'at', clockText(ev.timestamp)));
  const log = $('chat-log');
  const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.append(li);
  while (log.children.length > MAX_CHAT) log.firstElementChild.remove();
  if (nearBottom) log.scrollTop = log.scrollHeight;
  $('chat-empty').hidden = true;
}

// ---------------------------------------------------------------- rooms

/** @param {string} room */
async function fetchMembers(room) {
  const r = await api('GET', `/rooms/${encodeURIComponent(room)}/members`);
  if (!r.ok || !state.myRooms.has(room)) return;
  const users = Array.isArray(r.data?.users) ? r.data.users : [];
  state.members.set(room, new Set(users.map((u) => u.userId).filter((u) => typeof u === 'string')));
  renderRooms();
}

/** @param {string} room @param {{ quiet?: boolean }} [opts] */
async function joinRoom(room, opts = {}) {
  const error = $('room-error');
  if (!opts.quiet) error.textContent = '';
  if (!ID_PATTERN.test(room)) {
    error.textContent = 'A room id is 1–64 letters, digits, _ . : - and starts with a letter or digit.';
    return false;
  }
  const r = await api('POST', `/rooms/${encodeURIComponent(room)}/join`);
  if (!r.ok) {
    if (opts.quiet) {
      if (r.status === 403) setDesired(room, false);
      return false;
    }
    error.textContent = r.status === 403 ? `You may not join ${room}.` : describeError(r);
    return false;
  }
  setDesired(room, true);
  if (state.es && state.es.readyState === EventSource.OPEN) {
    state.myRooms.add(room);
    void fetchMembers(room);
  }
  renderRooms();
  void refreshAllRooms();
  return true;
}

/** @param {string} room */
async function leaveRoom(room) {
  const error = $('room-error');
  error.textContent = '';
  const r = await api('POST', `/rooms/${encodeURIComponent(room)}/leave`);
  if (!r.ok) {
    error.textContent = describeError(r);
    return;
  }
  setDesired(room, false);
  if (state.esRooms.includes(room)) state.urlStale = true;
  state.myRooms.delete(room);
  state.members.delete(room);
  if (room === 'stocks') clearStocks();
  renderRooms();
  void refreshAllRooms();
}

let allRooms = /** @type {{ roomId: string, connections: number, users: number }[]} */ ([]);

async function refreshAllRooms() {
  if (!state.user) return;
  const r = await api('GET', '/rooms');
  if (!r.ok) return;
  allRooms = Array.isArray(r.data?.rooms) ? r.data.rooms.filter((x) => x && typeof x.roomId === 'string') : [];
  renderAllRooms();
}

const isPrivate = (/** @type {string} */ room) => room.startsWith('user:');

function renderRooms() {
  const list = $('my-rooms');
  list.replaceChildren();
  const rooms = [...state.myRooms].sort((a, b) => Number(isPrivate(a)) - Number(isPrivate(b)) || a.localeCompare(b));
  if (rooms.length === 0) list.append(el('li', 'empty', 'No rooms yet: join one above.'));
  for (const room of rooms) {
    const li = el('li');
    li.dataset.room = room;
    li.append(el('span', 'room-name', room));
    const members = state.members.get(room);
    if (isPrivate(room)) li.append(el('span', 'room-meta', 'your private room'));
    else {
      li.append(el('span', 'room-meta', members ? `${members.size} online` : ''));
      const leave = el('button', 'btn btn-small', 'Leave');
      leave.type = 'button';
      leave.setAttribute('aria-label', `Leave ${room}`);
      leave.addEventListener('click', () => void leaveRoom(room));
      li.append(leave);
    }
    if (members && members.size > 0 && !isPrivate(room)) {
      const ul = el('ul', 'members');
      ul.setAttribute('aria-label', `Members of ${room}`);
      for (const user of [...members].sort()) {
        const m = el('li', state.user && user === state.user.id ? 'me' : '', user);
        m.dataset.user = user;
        ul.append(m);
      }
      li.append(ul);
    }
    list.append(li);
  }
  // Panels that depend on membership.
  for (const [room, toggle] of [['stocks', $('stocks-toggle')], ['chat', $('chat-toggle')]]) {
    const inRoom = state.myRooms.has(room);
    toggle.textContent = inRoom ? `Leave ${room}` : `Join ${room}`;
    toggle.dataset.joined = String(inRoom);
  }
  const inChat = state.myRooms.has('chat');
  $('chat-text').disabled = !inChat;
  $('chat-send').disabled = !inChat;
  $('chat-empty').hidden = inChat || $('chat-log').children.length > 0;
  if (!state.myRooms.has('stocks') && state.stocks.size === 0) $('stocks-empty').hidden = false;
  renderAllRooms();
}

function renderAllRooms() {
  const list = $('all-rooms');
  list.replaceChildren();
  const rooms = allRooms.filter((r) => !isPrivate(r.roomId)).sort((a, b) => a.roomId.localeCompare(b.roomId));
  if (rooms.length === 0) list.append(el('li', 'empty', 'No open rooms.'));
  for (const r of rooms) {
    const li = el('li');
    li.dataset.room = r.roomId;
    const users = Number(r.users) || 0;
    const conns = Number(r.connections) || 0;
    li.append(el('span', 'room-name', r.roomId), el('span', 'room-meta', `${users} user${users === 1 ? '' : 's'} · ${conns} connection${conns === 1 ? '' : 's'}`));
    if (!state.myRooms.has(r.roomId)) {
      const join = el('button', 'btn btn-small', 'Join');
      join.type = 'button';
      join.setAttribute('aria-label', `Join ${r.roomId}`);
      join.addEventListener('click', () => void joinRoom(r.roomId));
      li.append(join);
    }
    list.append(li);
  }
}

// ---------------------------------------------------------------- event log

/** @param {LogEntry} entry */
function matchesFilter(entry) {
  const type = $('log-filter').value;
  if (type && entry.type !== type) return false;
  if ($('log-hide-time').checked && entry.type === 'time') return false;
  return true;
}

/** @param {LogEntry} entry */
function logItem(entry) {
  const li = el('li');
  li.classList.add(`type-${entry.type.replace(/[^A-Za-z0-9_-]/g, '_')}`);
  if (entry.control) li.classList.add('control');
  if (entry.userId) li.classList.add('targeted');
  li.dataset.type = entry.type;
  if (entry.id) li.dataset.id = entry.id;
  let target;
  if (entry.control) target = entry.room ? `control · ${entry.room}` : 'control';
  else {
    target = entry.room ? `to ${entry.room}` : entry.userId ? `to user ${entry.userId}` : 'to everyone';
    if (entry.sender) target += ` · from ${entry.sender}`;
    if (entry.id) target += ` · #${entry.id}`;
  }
  li.append(el('time', 'at', clockText(entry.at)), el('span', 'type', entry.type), el('span', 'target', target), el('code', 'data', summarize(entry.data)));
  return li;
}

/** @param {LogEntry} entry */
function addLog(entry) {
  state.log.push(entry);
  if (state.log.length > MAX_LOG) state.log.shift();
  state.received += 1;
  $('log-count').textContent = `${state.received} event${state.received === 1 ? '' : 's'}`;
  if (!state.logTypes.has(entry.type)) {
    state.logTypes.add(entry.type);
    const select = $('log-filter');
    const opt = el('option', '', entry.type);
    opt.value = entry.type;
    const after = [...select.options].slice(1).find((o) => o.value > entry.type);
    select.insertBefore(opt, after ?? null);
  }
  if (!matchesFilter(entry)) return;
  const list = $('event-log');
  list.prepend(logItem(entry));
  while (list.children.length > MAX_LOG_DOM) list.lastElementChild.remove();
}

function renderLog() {
  const items = [];
  for (let i = state.log.length - 1; i >= 0 && items.length < MAX_LOG_DOM; i--) {
    const entry = /** @type {LogEntry} */ (state.log[i]);
    if (matchesFilter(entry)) items.push(logItem(entry));
  }
  $('event-log').replaceChildren(...items);
}

/** @param {string} type */
function listenFor(type) {
  if (state.listening.has(type)) return;
  state.listening.add(type);
  if (state.es) state.es.addEventListener(type, onPublished);
  const saved = readJson(TYPES_KEY);
  const types = new Set(Array.isArray(saved) ? saved : []);
  types.add(type);
  writeJson(TYPES_KEY, [...types]);
}

// ---------------------------------------------------------------- admin: stats and broadcast

/** @param {HTMLElement} box @param {string} label @param {unknown} value */
function stat(box, label, value) {
  const dl = el('dl', 'stat');
  dl.append(el('dt', '', label), el('dd', '', value === undefined || value === null ? '—' : String(value)));
  box.append(dl);
}

async function refreshStats() {
  const r = await api('GET', '/stats');
  const error = $('stats-error');
  if (!r.ok) {
    error.textContent = `Stats unavailable: ${describeError(r)}`;
    return;
  }
  error.textContent = '';
  const s = r.data ?? {};
  const box = $('stats');
  box.replaceChildren();
  stat(box, 'Connections', s.totalConnections);
  stat(box, 'Active users', s.activeUsers);
  stat(box, 'Rooms', s.totalRooms);
  stat(box, 'Published', s.events?.published);
  stat(box, 'Delivered', s.events?.delivered);
  stat(box, 'Replayed', s.events?.replayed);
  stat(box, 'Evicted', s.events?.evicted);
  stat(box, 'History', s.history?.size);
  stat(box, 'Redis', s.redis);
  if (Array.isArray(s.nodes) && s.nodes.length > 0) {
    const ul = el('ul', 'nodes');
    ul.setAttribute('aria-label', 'Nodes');
    for (const n of s.nodes) ul.append(el('li', '', `${n.nodeId}: ${n.connections} connection${n.connections === 1 ? '' : 's'}, up ${n.uptimeSec} s`));
    box.append(ul);
  }
  $('stats-updated').textContent = `updated ${clockText(null)}`;
}

function updateTargetField() {
  const target = /** @type {HTMLInputElement} */ (document.querySelector('input[name="target"]:checked')).value;
  const input = $('bc-target-id');
  input.disabled = target === 'all';
  input.required = target !== 'all';
  if (target === 'all') input.value = '';
}

/** @param {SubmitEvent} e */
async function onBroadcast(e) {
  e.preventDefault();
  const result = $('bc-result');
  const type = $('bc-type').value.trim();
  const target = /** @type {HTMLInputElement} */ (document.querySelector('input[name="target"]:checked')).value;
  const targetId = $('bc-target-id').value.trim();
  const raw = $('bc-data').value;
  result.dataset.kind = 'error';
  if (!ID_PATTERN.test(type)) {
    result.textContent = 'The event type is 1–64 letters, digits, _ . : - and starts with a letter or digit.';
    $('bc-type').focus();
    return;
  }
  if (target !== 'all' && !targetId) {
    result.textContent = `Name the ${target} to send to.`;
    $('bc-target-id').focus();
    return;
  }
  let data;
  if (raw.trim() === '') data = {};
  else {
    try {
      data = JSON.parse(raw);
    } catch {
      data = { text: raw.trim() };
    }
  }
  /** @type {Record<string, unknown>} */
  const body = { type, data };
  if (target === 'room') body.room = targetId;
  if (target === 'user') body.userId = targetId;
  listenFor(type);
  $('bc-send').disabled = true;
  result.dataset.kind = '';
  result.textContent = 'Sending…';
  const r = await api('POST', '/broadcast', body);
  $('bc-send').disabled = false;
  if (!r.ok) {
    result.dataset.kind = 'error';
    result.textContent = describeError(r);
    return;
  }
  const n = Number(r.data?.recipients);
  result.dataset.kind = 'ok';
  result.textContent = `Sent event ${r.data?.id ?? ''} to ${Number.isFinite(n) ? n : '?'} connection${n === 1 ? '' : 's'}.`;
}

// ---------------------------------------------------------------- session

function stopTimers() {
  clearInterval(state.roomsTimer);
  clearInterval(state.statsTimer);
  state.roomsTimer = 0;
  state.statsTimer = 0;
}

function resetData() {
  closeStream();
  stopTimers();
  Object.assign(state, {
    lastEventId: null, connectionId: null, everLive: false, failures: 0, esRooms: [], urlStale: false,
    duplicates: 0, received: 0,
  });
  state.myRooms.clear();
  state.members.clear();
  state.seen.clear();
  state.seenOrder = [];
  state.log = [];
  state.logTypes.clear();
  allRooms = [];
  clearStocks();
  $('chat-log').replaceChildren();
  $('event-log').replaceChildren();
  delete $('event-log').dataset.duplicates;
  $('log-count').textContent = '0 events';
  const select = $('log-filter');
  while (select.options.length > 1) select.lastElementChild.remove();
  select.value = '';
  $('clock').textContent = '--:--:--';
  $('stats').replaceChildren();
  $('bc-result').textContent = '';
}

/** @param {{ id: string, role: string }} user */
function startSession(user) {
  if (!state.user || state.user.id !== user.id) resetData();
  state.user = user;
  const who = $('who');
  who.replaceChildren(document.createTextNode(user.id), el('span', 'role', user.role));
  $('session').hidden = false;
  $('login-view').hidden = true;
  $('dashboard').hidden = false;
  const canAdmin = user.role === 'admin' || user.role === 'publisher';
  $('admin-panel').hidden = !canAdmin;
  hideNotice('session');
  renderRooms();
  openStream();
  stopTimers();
  state.roomsTimer = setInterval(() => {
    if (document.visibilityState === 'visible' && state.es) void refreshAllRooms();
  }, ROOMS_REFRESH_MS);
  if (canAdmin) {
    void refreshStats();
    state.statsTimer = setInterval(() => {
      if (document.visibilityState === 'visible') void refreshStats();
    }, STATS_REFRESH_MS);
  }
}

/** @param {boolean} [again] the session ended: keep the dashboard visible beneath, prefill the user */
function showLogin(again = false) {
  $('login-view').hidden = false;
  if (!again) {
    $('dashboard').hidden = true;
    $('session').hidden = true;
  } else if (state.user) {
    $('login-username').value = state.user.id;
  }
  $('login-title').textContent = again ? 'Log in again' : 'Log in to roomcast';
  const focus = again && state.user ? $('login-password') : $('login-username');
  focus.focus();
  if (again) $('login-view').scrollIntoView({ block: 'start' });
}

/** @param {SubmitEvent} e */
async function onLogin(e) {
  e.preventDefault();
  const username = $('login-username').value.trim();
  const password = $('login-password').value;
  const error = $('login-error');
  error.textContent = '';
  if (!username || !password) {
    error.textContent = 'Enter your username and password.';
    (username ? $('login-password') : $('login-username')).focus();
    return;
  }
  $('login-submit').disabled = true;
  const r = await api('POST', '/auth/login', { username, password });
  $('login-submit').disabled = false;
  if (!r.ok) {
    error.textContent = r.status === 401 ? 'Wrong username or password.' : describeError(r);
    $('login-password').select();
    return;
  }
  $('login-password').value = '';
  const user = r.data?.user;
  if (!user || typeof user.id !== 'string') {
    error.textContent = 'The hub answered without a user.';
    return;
  }
  startSession({ id: user.id, role: String(user.role ?? 'user') });
}

async function onLogout() {
  closeStream();
  stopTimers();
  await api('POST', '/auth/logout');
  resetData();
  state.user = null;
  setConn('offline');
  hideNotice();
  $('login-title').textContent = 'Log in to roomcast';
  showLogin(false);
}

// ---------------------------------------------------------------- wiring

function wire() {
  $('login-form').addEventListener('submit', onLogin);
  $('logout').addEventListener('click', () => void onLogout());
  $('notice-action').addEventListener('click', () => noticeAction?.());
  $('notice-dismiss').addEventListener('click', () => hideNotice());
  for (const id of ['stocks-toggle', 'chat-toggle']) {
    $(id).addEventListener('click', (/** @type {MouseEvent} */ e) => {
      const btn = /** @type {HTMLElement} */ (e.currentTarget);
      const room = /** @type {string} */ (btn.dataset.room);
      if (state.myRooms.has(room)) void leaveRoom(room);
      else void joinRoom(room);
    });
  }
  $('room-form').addEventListener('submit', async (/** @type {SubmitEvent} */ e) => {
    e.preventDefault();
    const input = $('room-input');
    if (await joinRoom(input.value.trim())) input.value = '';
  });
  $('rooms-refresh').addEventListener('click', () => {
    void refreshAllRooms();
    for (const room of state.myRooms) void fetchMembers(room);
  });
  $('chat-form').addEventListener('submit', async (/** @type {SubmitEvent} */ e) => {
    e.preventDefault();
    const input = $('chat-text');
    const text = input.value.trim();
    const error = $('chat-error');
    error.textContent = '';
    if (!text) return;
    $('chat-send').disabled = true;
    const r = await api('POST', '/rooms/chat/messages', { text });
    $('chat-send').disabled = !state.myRooms.has('chat');
    if (!r.ok) {
      error.textContent = describeError(r);
      return;
    }
    input.value = '';
    input.focus();
  });
  $('log-filter').addEventListener('change', renderLog);
  $('log-hide-time').addEventListener('change', renderLog);
  $('log-clear').addEventListener('click', () => {
    state.log = [];
    renderLog();
  });
  $('listen-form').addEventListener('submit', (/** @type {SubmitEvent} */ e) => {
    e.preventDefault();
    const input = $('listen-type');
    const type = input.value.trim();
    if (!ID_PATTERN.test(type) || CONTROL_TYPES.includes(type)) return;
    listenFor(type);
    input.value = '';
    toast('Listening', `Events of type ${type} now appear in the log.`);
  });
  for (const radio of document.querySelectorAll('input[name="target"]')) radio.addEventListener('change', updateTargetField);
  $('broadcast-form').addEventListener('submit', onBroadcast);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !$('notice').hidden && $('notice').dataset.topic !== 'session') hideNotice();
  });
  const saved = readJson(TYPES_KEY);
  if (Array.isArray(saved)) for (const t of saved) if (typeof t === 'string' && ID_PATTERN.test(t)) state.listening.add(t);
}

/** Finds out whether the cookie holds a session; while the hub cannot be reached, tries again every few seconds. */
async function resumeSession() {
  // There is no "who am I" endpoint: a refresh answers the user when the cookie holds a valid session.
  const r = await api('POST', '/auth/refresh');
  if (state.user) return;
  if (r.ok && r.data?.user && typeof r.data.user.id === 'string') {
    $('login-error').textContent = '';
    startSession({ id: r.data.user.id, role: String(r.data.user.role ?? 'user') });
    return;
  }
  if ($('login-view').hidden) showLogin(false);
  if (r.status === 0 || r.status >= 500) {
    $('login-error').textContent = 'The hub cannot be reached right now; trying again…';
    setTimeout(() => void resumeSession(), 3000);
  } else if ($('login-error').textContent.startsWith('The hub cannot be reached')) {
    $('login-error').textContent = '';
  }
}

function boot() {
  wire();
  updateTargetField();
  void resumeSession();
}

boot();
