// @ts-check
// What the dashboard knows, shared by its views: who is logged in, which rooms this connection is
// in, who is in them, and the rooms this browser remembers joining.
import { readJson, writeJson } from './dom.js';
import { ID_PATTERN } from './api.js';

/** @typedef {{ id: string, role: string }} User */

export const state = {
  /** @type {User | null} */
  user: null,
  /** The last published event shown; a new stream of the same user resumes after it. @type {string | null} */
  lastEventId: null,
  /** True once a stream of this session was open (later connects are reconnects). */
  everLive: false,
  /** Rooms the open connection is in. @type {Set<string>} */
  myRooms: new Set(),
  /** Members of those rooms, by room. @type {Map<string, Set<string>>} */
  members: new Map(),
};

/** True for a user's private room. @param {string} room */
export const isPrivate = (room) => room.startsWith('user:');

const roomsKey = () => `roomcast.rooms.${state.user ? state.user.id : ''}`;

/**
 * Rooms this person joined from this browser; the stream names them at connect, so a hub that
 * lost its memberships (a restart in memory mode) puts the connection back in them.
 * @returns {string[]}
 */
export function desiredRooms() {
  const saved = readJson(roomsKey());
  return Array.isArray(saved) ? saved.filter((r) => typeof r === 'string' && ID_PATTERN.test(r)) : [];
}

/** @param {string} room @param {boolean} wanted */
export function setDesired(room, wanted) {
  const rooms = new Set(desiredRooms());
  if (wanted) rooms.add(room);
  else rooms.delete(room);
  writeJson(roomsKey(), [...rooms]);
}

/** Forgets every remembered room (the hub refused one of them). */
export function clearDesired() {
  writeJson(roomsKey(), []);
}

/** Forgets everything about the last session. */
export function resetState() {
  state.lastEventId = null;
  state.everLive = false;
  state.myRooms.clear();
  state.members.clear();
}
