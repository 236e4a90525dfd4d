import type { HubContext } from './context.js';
import { HubError } from './errors.js';
import { userRoom } from './names.js';

/**
 * Retry-After for a stream refused at MAX_STREAMS, in seconds: spread at random over this range
 * so refused clients do not all come back in the same second.
 */
export const FULL_RETRY_AFTER_SEC = { min: 1, max: 5 } as const;

/** A Retry-After for a full process: FULL_RETRY_AFTER_SEC, drawn at random. */
export function fullRetryAfterSec(): number {
  const { min, max } = FULL_RETRY_AFTER_SEC;
  return min + Math.floor(Math.random() * (max - min + 1));
}

/**
 * Refuses (429 `too_many_rooms`) a change that would put the user in more than MAX_ROOMS_PER_USER
 * rooms: its user-level memberships and its connections' rooms, hub-wide, together; its own
 * `user:<id>` room is not counted. Joining a room the user is already in always passes.
 * Two joins racing on different processes may both pass at the limit (each sees the other's
 * room only once it is applied); on one process the bound is exact. `memberships`: the user's
 * user-level rooms when the caller has just read them.
 */
export async function assertRoomsFit(
  ctx: HubContext, userId: string, adding: readonly string[], memberships?: readonly string[],
): Promise<void> {
  const own = userRoom(userId);
  const extra = adding.filter((r) => r !== own);
  if (extra.length === 0) return;
  const [member, connected] = await Promise.all([memberships ?? ctx.memberships.list(userId), ctx.directory.userRooms(userId)]);
  const current = new Set([...member, ...connected]);
  current.delete(own);
  const before = current.size;
  for (const room of extra) current.add(room);
  if (current.size > before && current.size > ctx.opts.maxRoomsPerUser) {
    throw new HubError('too_many_rooms', `a user may be in at most ${ctx.opts.maxRoomsPerUser} rooms`);
  }
}

/** Counts streams being admitted and open on this process against MAX_STREAMS. */
export class StreamSlots {
  /** Streams admitted but not yet registered with the manager. */
  private admitting = 0;

  constructor(private readonly ctx: HubContext) {}

  /** True while this process holds MAX_STREAMS streams (readiness drops then). */
  get full(): boolean {
    return this.ctx.manager.size + this.admitting >= this.ctx.opts.maxStreams;
  }

  /** Takes a slot for a stream being admitted, or refuses with 503 and a jittered Retry-After. */
  take(): void {
    if (this.full) {
      throw new HubError('unavailable', 'this process holds as many streams as it may; retry (another process may take it)',
        undefined, fullRetryAfterSec());
    }
    this.admitting++;
  }

  /** Gives the admission slot back (the stream is now counted by the manager, or was refused). */
  release(): void {
    this.admitting--;
  }
}
