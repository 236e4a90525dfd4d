// @ts-check
// The rooms panel (this connection's rooms with their members, and every open room) and the
// Join/Leave toggles of the stocks and chat panels.
import { api, describeError, failureOf, ID_PATTERN } from '../api.js';
import { byId, el, isObject } from '../dom.js';
import { isPrivate, setDesired, state } from '../state.js';
import { setChatEnabled } from './chat.js';
import { clearStocks, noStocks } from './stocks.js';

/**
 * What the panel asks of the stream.
 * @typedef {{ join(room: string): Promise<unknown>, leave(room: string): Promise<unknown>, isOpen(): boolean }} RoomActions
 */

/** @type {RoomActions} */
let actions = { join: async () => undefined, leave: async () => undefined, isOpen: () => false };
/** @type {{ roomId: string, connections: number, users: number }[]} */
let allRooms = [];

/** @param {string} room */
export async function fetchMembers(room) {
  const r = await api('GET', `/rooms/${encodeURIComponent(room)}/members`);
  if (!r.ok || !state.myRooms.has(room)) return;
  const users = isObject(r.data) && Array.isArray(r.data.users) ? r.data.users : [];
  state.members.set(room, new Set(users.map((u) => (isObject(u) ? u.userId : null)).filter((u) => typeof u === 'string')));
  renderRooms();
}

/** Joins a room for the user (all of its connections, now and later). @param {string} room */
export async function joinRoom(room) {
  const error = byId('room-error');
  error.textContent = '';
  if (!ID_PATTERN.test(room)) {
    error.textContent = 'A room id is 1–64 letters, digits, _ . : - and starts with a letter or digit.';
    return false;
  }
  try {
    await actions.join(room);
  } catch (err) {
    const f = failureOf(err);
    error.textContent = f.status === 403 ? `You may not join ${room}.` : describeError(f);
    return false;
  }
  setDesired(room, true);
  if (actions.isOpen()) {
    state.myRooms.add(room);
    void fetchMembers(room);
  }
  renderRooms();
  void refreshAllRooms();
  return true;
}

/** @param {string} room */
export async function leaveRoom(room) {
  const error = byId('room-error');
  error.textContent = '';
  try {
    await actions.leave(room);
  } catch (err) {
    error.textContent = describeError(failureOf(err));
    return;
  }
  setDesired(room, false);
  roomLeft(room);
  void refreshAllRooms();
}

/** This connection is no longer in a room. @param {string} room */
export function roomLeft(room) {
  state.myRooms.delete(room);
  state.members.delete(room);
  if (room === 'stocks') clearStocks();
  renderRooms();
}

/** Fetches every room the user may see. */
export async function refreshAllRooms() {
  if (!state.user) return;
  const r = await api('GET', '/rooms');
  if (!r.ok) return;
  const rooms = isObject(r.data) && Array.isArray(r.data.rooms) ? r.data.rooms : [];
  allRooms = rooms.filter((x) => isObject(x) && typeof x.roomId === 'string');
  renderAllRooms();
}

/** @param {string} room @param {Set<string> | undefined} members */
function roomItem(room, members) {
  const li = el('li');
  li.dataset.room = room;
  li.append(el('span', 'room-name', room));
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
  return li;
}

/** Renders this connection's rooms and everything that depends on them. */
export function renderRooms() {
  const list = byId('my-rooms');
  const rooms = [...state.myRooms].sort((a, b) => Number(isPrivate(a)) - Number(isPrivate(b)) || a.localeCompare(b));
  list.replaceChildren(...rooms.map((room) => roomItem(room, state.members.get(room))));
  if (rooms.length === 0) list.append(el('li', 'empty', 'No rooms yet: join one above.'));
  for (const room of ['stocks', 'chat']) {
    const toggle = byId(`${room}-toggle`);
    const inRoom = state.myRooms.has(room);
    toggle.textContent = inRoom ? `Leave ${room}` : `Join ${room}`;
    toggle.dataset.joined = String(inRoom);
  }
  setChatEnabled(state.myRooms.has('chat'));
  if (!state.myRooms.has('stocks') && noStocks()) byId('stocks-empty').hidden = false;
  renderAllRooms();
}

function renderAllRooms() {
  const list = byId('all-rooms');
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

/** Forgets the list of every room. */
export function resetRooms() {
  allRooms = [];
}

/** Wires the panel's forms and the panels' toggles. @param {RoomActions} a */
export function wireRooms(a) {
  actions = a;
  for (const id of ['stocks-toggle', 'chat-toggle']) {
    byId(id).addEventListener('click', (e) => {
      const room = /** @type {HTMLElement} */ (e.currentTarget).dataset.room ?? '';
      if (state.myRooms.has(room)) void leaveRoom(room);
      else void joinRoom(room);
    });
  }
  byId('room-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = byId('room-input', HTMLInputElement);
    if (await joinRoom(input.value.trim())) input.value = '';
  });
  byId('rooms-refresh').addEventListener('click', () => {
    void refreshAllRooms();
    for (const room of state.myRooms) void fetchMembers(room);
  });
}
