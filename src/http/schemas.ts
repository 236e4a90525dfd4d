import { z } from 'zod';
import { HubError } from '../core/errors.js';
import {
  CONTROL_EVENT_TYPES, isRoomId, MAX_META_ENTRIES, META_KEY_RE, META_VALUE_RE, NAME_RE, USER_ID_RE,
} from '../core/names.js';
import type { PublishInput } from '../core/publish.js';
import type { Metadata } from '../core/events.js';
import { zodDetails } from './errors.js';

/** A room id. */
export const roomIdSchema = z.string().refine(isRoomId, 'must match ^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$ (or user:<user id>)');
/** A user id. */
export const userIdSchema = z.string().regex(USER_ID_RE, 'must be 1-128 characters without control characters');
/** A connection id as the hub issues them. */
export const connectionIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a connection id');

const filtersSchema = z.record(
  z.string().regex(META_KEY_RE, 'filter keys are 1-64 of A-Z a-z 0-9 _ . -'),
  z.string().regex(META_VALUE_RE, 'filter values are strings of up to 256 characters without control characters'),
).refine((f) => Object.keys(f).length <= MAX_META_ENTRIES, `at most ${MAX_META_ENTRIES} filters`);

/** One event to publish, as `/broadcast` takes it. */
export const publishSchema = z.object({
  type: z.string().regex(NAME_RE, 'must match ^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$')
    .refine((t) => !CONTROL_EVENT_TYPES.has(t), 'is the name of one of the hub\'s own stream events'),
  data: z.unknown().optional(),
  room: roomIdSchema.nullable().optional(),
  userId: userIdSchema.nullable().optional(),
  connectionId: connectionIdSchema.nullable().optional(),
  filters: filtersSchema.nullable().optional(),
}).strict().superRefine((v, ctx) => {
  const targets = [v.room, v.userId, v.connectionId].filter((t) => t !== undefined && t !== null).length;
  if (targets > 1) ctx.addIssue({ code: 'custom', message: 'give at most one of room, userId, connectionId', path: ['room'] });
});

/** Batch publish. */
export const batchSchema = z.object({
  events: z.array(publishSchema).min(1).max(100),
}).strict();

/** `{"connectionId"?}` for join and leave. */
export const membershipSchema = z.object({ connectionId: connectionIdSchema.optional() }).strict();

/** `{"text"}` for chat messages. */
export const chatSchema = z.object({ text: z.string().min(1).max(2000) }).strict();

/** Login body. */
export const loginSchema = z.object({
  username: z.string().min(1).max(128),
  password: z.string().min(1).max(1024),
}).strict();

/** Parses with a schema; 400 `invalid_request` naming the field paths otherwise. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, what = 'the request body is invalid'): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new HubError('invalid_request', what, zodDetails(r.error));
  return r.data;
}

/** A parsed publish body as the hub takes it. */
export function toPublishInput(v: z.infer<typeof publishSchema>): PublishInput {
  return {
    type: v.type, data: v.data ?? null, room: v.room ?? null, userId: v.userId ?? null,
    connectionId: v.connectionId ?? null, filters: v.filters ?? null,
  };
}

/** A path parameter as a room id, or 400. */
export function roomParam(value: unknown): string {
  return parseWith(roomIdSchema, value, 'the room id is invalid');
}

/** `meta.<key>=<value>` query parameters as connection metadata, or 400. */
export function metadataFromQuery(query: Record<string, unknown>): Metadata {
  const meta: Record<string, string> = {};
  let n = 0;
  for (const [k, v] of Object.entries(query)) {
    if (!k.startsWith('meta.')) continue;
    const key = k.slice(5);
    const value = Array.isArray(v) ? v[v.length - 1] : v;
    if (!META_KEY_RE.test(key) || typeof value !== 'string' || !META_VALUE_RE.test(value)) {
      throw new HubError('invalid_request', 'invalid metadata', [{ path: `query.${k}`, message: 'meta.<key>=<value>: key 1-64 of A-Z a-z 0-9 _ . -, value up to 256 characters' }]);
    }
    if (++n > MAX_META_ENTRIES) throw new HubError('invalid_request', `at most ${MAX_META_ENTRIES} metadata entries`, [{ path: 'query', message: 'too many meta.* parameters' }]);
    meta[key] = value;
  }
  return Object.freeze(meta);
}

/** A single-valued string query parameter. */
export function queryString(query: Record<string, unknown>, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new HubError('invalid_request', `query parameter ${name} must be given once`, [{ path: `query.${name}`, message: 'expected one value' }]);
  return v;
}
