// @ts-check
// roomcast dashboard: the session (log in, log out, pick up a cookie session), and what each
// stream event does to the views. The stream itself is the client library (js/stream.js); each
// panel is a view in js/views/. No build step: the browser loads these modules as they are.
import { api, describeError } from './js/api.js';
import { byId, el, isObject, summarize } from './js/dom.js';
import { clearDesired, desiredRooms, resetState, state } from './js/state.js';
import { DashboardStream } from './js/stream.js';
import { resetAdmin, startStats, stopStats, wireAdmin } from './js/views/admin.js';
import { addChat, resetChat, wireChat } from './js/views/chat.js';
import { resetClock, updateClock } from './js/views/clock.js';
import { addControl, addLog, resetLog, setDuplicates, wireLog } from './js/views/log.js';
import { fetchMembers, refreshAllRooms, renderRooms, resetRooms, roomLeft, wireRooms } from './js/views/rooms.js';
import { hideNotice, setConn, showNotice, toast, wireStatus } from './js/views/status.js';
import { clearStocks, updateStock } from './js/views/stocks.js';

/** Types also shown as a pop-up notification (as is anything addressed to this user alone). */
const TOAST_TYPES = new Set(['announcement', 'notice', 'notification', 'alert', 'broadcast', 'news', 'system']);
/** The built-in feeds: shown in their panels, never as a toast. */
const FEED_TYPES = new Set(['time', 'stock-update', 'chat-message']);
/** How often the list of every room refreshes while the page is visible, in milliseconds. */
const ROOMS_REFRESH_MS = 10_000;
/** Wait before asking again whether the cookie holds a session while the hub is down, in milliseconds. */
const RESUME_RETRY_MS = 3_000;
/** Presence changes come in bursts: the room list refreshes once they settle, in milliseconds. */
const PRESENCE_SETTLE_MS = 500;

/** @type {ReturnType<typeof setInterval> | undefined} */
let roomsTimer;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let presenceTimer;

const stream = new DashboardStream({
  event: onPublished,
  control: addControl,
  connected: (info) => {
    state.myRooms = new Set(info.rooms);
    state.everLive = true;
    setConn('live');
    hideNotice('connection');
    for (const room of state.myRooms) void fetchMembers(room);
    renderRooms();
    void refreshAllRooms();
  },
  gap: (gap) => {
    showNotice('warning', 'gap',
      `Some events were missed while you were away: the hub no longer keeps everything after event ${gap.lastEventId ?? '?'}` +
      `${gap.oldestAvailable ? ` (the oldest it keeps is ${gap.oldestAvailable})` : ''}. What follows is complete from here on.`,
      'Reload the page', () => location.reload());
  },
  room: (joined, roomId) => {
    if (!joined) roomLeft(roomId);
    else {
      state.myRooms.add(roomId);
      void fetchMembers(roomId);
      renderRooms();
    }
    void refreshAllRooms();
  },
  presence: (joined, { roomId, userId }) => {
    let set = state.members.get(roomId);
    if (!set && state.myRooms.has(roomId)) state.members.set(roomId, (set = new Set()));
    if (set) {
      if (joined) set.add(userId);
      else set.delete(userId);
    }
    renderRooms();
    clearTimeout(presenceTimer);
    presenceTimer = setTimeout(() => void refreshAllRooms(), PRESENCE_SETTLE_MS);
  },
  state: (s) => {
    if (s === 'connecting') setConn(state.everLive ? 'reconnecting' : 'connecting');
    if (s === 'reconnecting') setConn('reconnecting');
  },
  shutdown: () => {
    setConn('reconnecting');
    showNotice('info', 'connection', 'The hub is restarting. This page reconnects by itself and will show what was published meanwhile.');
  },
  closed: (err) => {
    state.lastEventId = stream.lastEventId ?? state.lastEventId;
    if (err?.code === 'token_expired') sessionExpired('Your session has expired. Log in again to pick up where you left off.');
    else if (err?.status === 401 || err?.code === 'token_revoked') sessionExpired('Your session has ended. Log in again to pick up where you left off.');
    else if (err?.status === 403 || err?.code === 'too_many_rooms') {
      // A room this browser remembered is no longer allowed: connect without the remembered rooms.
      clearDesired();
      openStream();
    } else {
      setConn('offline');
      showNotice('error', 'connection', `The stream stopped: ${err ? err.message : 'closed'}.`, 'Connect again', () => openStream());
    }
  },
});

/** @param {import('./js/stream.js').RoomcastEvent} ev @param {number} duplicates */
function onPublished(ev, duplicates) {
  state.lastEventId = ev.id;
  setDuplicates(duplicates);
  const { type, data } = ev;
  if (type === 'time') updateClock(data);
  else if (type === 'stock-update') updateStock(data);
  else if (type === 'chat-message') addChat(ev, state.user?.id ?? null);
  const mine = state.user !== null && ev.userId === state.user.id;
  if (TOAST_TYPES.has(type) || (mine && !FEED_TYPES.has(type))) {
    const text = isObject(data) && typeof data.text === 'string' ? data.text
      : isObject(data) && typeof data.message === 'string' ? data.message : summarize(data, 160);
    toast(`${type}${mine ? ' for you' : ev.room ? ` in ${ev.room}` : ''} · from ${ev.sender || 'unknown'}`, text);
  }
  addLog({ id: ev.id, type, room: ev.room, userId: ev.userId, sender: ev.sender, data, at: ev.timestamp || new Date().toISOString(), control: false });
}

function openStream() {
  hideNotice('connection');
  stream.start(desiredRooms(), state.lastEventId);
}

function stopTimers() {
  clearInterval(roomsTimer);
  roomsTimer = undefined;
  stopStats();
}

/** @param {string} message */
function sessionExpired(message) {
  stream.stop();
  stopTimers();
  setConn('expired');
  showNotice('error', 'session', message, 'Log in again', () => showLogin(true));
}

function resetData() {
  stream.stop();
  stopTimers();
  resetState();
  resetRooms();
  clearStocks();
  resetChat();
  resetLog();
  resetClock();
  resetAdmin();
}

/** @param {import('./js/state.js').User} user */
function startSession(user) {
  if (!state.user || state.user.id !== user.id) resetData();
  state.user = user;
  byId('who').replaceChildren(document.createTextNode(user.id), el('span', 'role', user.role));
  byId('session').hidden = false;
  byId('login-view').hidden = true;
  byId('dashboard').hidden = false;
  const canAdmin = user.role === 'admin' || user.role === 'publisher';
  byId('admin-panel').hidden = !canAdmin;
  hideNotice('session');
  renderRooms();
  openStream();
  stopTimers();
  roomsTimer = setInterval(() => {
    if (document.visibilityState === 'visible' && stream.open) void refreshAllRooms();
  }, ROOMS_REFRESH_MS);
  if (canAdmin) startStats();
}

/** @param {boolean} [again] the session ended: keep the dashboard visible beneath, prefill the user */
function showLogin(again = false) {
  byId('login-view').hidden = false;
  if (!again) {
    byId('dashboard').hidden = true;
    byId('session').hidden = true;
  } else if (state.user) {
    byId('login-username', HTMLInputElement).value = state.user.id;
  }
  byId('login-title').textContent = again ? 'Log in again' : 'Log in to roomcast';
  const focus = again && state.user ? byId('login-password') : byId('login-username');
  focus.focus();
  if (again) byId('login-view').scrollIntoView({ block: 'start' });
}

/** @param {unknown} data @returns {import('./js/state.js').User | null} */
function userOf(data) {
  const user = isObject(data) ? data.user : null;
  return isObject(user) && typeof user.id === 'string' ? { id: user.id, role: String(user.role ?? 'user') } : null;
}

/** @param {SubmitEvent} e */
async function onLogin(e) {
  e.preventDefault();
  const usernameInput = byId('login-username', HTMLInputElement);
  const passwordInput = byId('login-password', HTMLInputElement);
  const submit = byId('login-submit', HTMLButtonElement);
  const username = usernameInput.value.trim();
  const password = passwordInput.value;
  const error = byId('login-error');
  error.textContent = '';
  if (!username || !password) {
    error.textContent = 'Enter your username and password.';
    (username ? passwordInput : usernameInput).focus();
    return;
  }
  submit.disabled = true;
  const r = await api('POST', '/auth/login', { username, password });
  submit.disabled = false;
  if (!r.ok) {
    error.textContent = r.status === 401 ? 'Wrong username or password.' : describeError(r);
    passwordInput.select();
    return;
  }
  passwordInput.value = '';
  const user = userOf(r.data);
  if (!user) {
    error.textContent = 'The hub answered without a user.';
    return;
  }
  startSession(user);
}

async function onLogout() {
  stream.stop();
  stopTimers();
  await api('POST', '/auth/logout');
  resetData();
  state.user = null;
  setConn('offline');
  hideNotice();
  showLogin(false);
}

/** Finds out whether the cookie holds a session; while the hub cannot be reached, tries again every few seconds. */
async function resumeSession() {
  // There is no "who am I" endpoint: a refresh answers the user when the cookie holds a valid session.
  const r = await api('POST', '/auth/refresh');
  if (state.user) return;
  const user = r.ok ? userOf(r.data) : null;
  const error = byId('login-error');
  if (user) {
    error.textContent = '';
    startSession(user);
    return;
  }
  if (byId('login-view').hidden) showLogin(false);
  if (r.status === 0 || r.status >= 500) {
    error.textContent = 'The hub cannot be reached right now; trying again…';
    setTimeout(() => void resumeSession(), RESUME_RETRY_MS);
  } else if ((error.textContent ?? '').startsWith('The hub cannot be reached')) {
    error.textContent = '';
  }
}

function boot() {
  wireStatus();
  wireRooms({ join: (room) => stream.join(room), leave: (room) => stream.leave(room), isOpen: () => stream.open });
  wireChat((text) => api('POST', '/rooms/chat/messages', { text }), () => state.myRooms.has('chat'));
  wireLog();
  wireAdmin();
  byId('login-form').addEventListener('submit', (e) => void onLogin(/** @type {SubmitEvent} */ (e)));
  byId('logout').addEventListener('click', () => void onLogout());
  void resumeSession();
}

boot();
