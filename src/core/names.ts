/** Room ids and event types: `^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`. */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
/** User ids: 1-128 characters, no control characters. */
export const USER_ID_RE = /^[^\u0000-\u001f\u007f-\u009f]{1,128}$/u;
/** Metadata keys (the `meta.<key>` query parameters and broadcast filters). */
export const META_KEY_RE = /^[A-Za-z0-9_.-]{1,64}$/;
/** Metadata values: up to 256 characters, no control characters. */
export const META_VALUE_RE = /^[^\u0000-\u001f\u007f-\u009f]{0,256}$/u;
/** Most metadata entries on one connection or one filter. */
export const MAX_META_ENTRIES = 16;
/** Prefix of every user's private room. */
export const USER_ROOM_PREFIX = 'user:';

/**
 * The hub's own stream events (they carry no `id:`). A published event may not take one of these
 * types: a plain EventSource listener could not tell it from the hub's own.
 */
export const CONTROL_EVENT_TYPES: ReadonlySet<string> = new Set([
  'connected', 'history-gap', 'room-joined', 'room-left', 'presence-join', 'presence-leave',
  'token-expired', 'token-revoked', 'disconnected', 'shutdown',
]);

/** True for a valid user id. */
export function isUserId(value: string): boolean {
  return USER_ID_RE.test(value);
}

/** True for a valid room id: the contract's pattern, or `user:<any valid user id>`. */
export function isRoomId(value: string): boolean {
  if (NAME_RE.test(value)) return true;
  return value.startsWith(USER_ROOM_PREFIX) && isUserId(value.slice(USER_ROOM_PREFIX.length));
}

/** The private room of a user. */
export function userRoom(userId: string): string {
  return USER_ROOM_PREFIX + userId;
}
