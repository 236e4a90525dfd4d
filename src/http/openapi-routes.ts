/**
 * Every HTTP endpoint of the hub, as the OpenAPI document (openapi.ts) describes it: the request
 * schemas are the ones the routes validate with; the answers' shapes are written here in zod too.
 * A test walks the Express router and fails when a served route is missing from this table.
 */
import { z } from 'zod';
import type { ErrorCode } from '../core/errors.js';
import { disconnectSchema, revokeSchema } from './admin-schemas.js';
import { batchSchema, chatSchema, loginSchema, membershipSchema, publishSchema, roomIdSchema, userIdSchema } from './schemas.js';

const eventId = z.string().regex(/^\d{16}$/).meta({ description: 'Event id: 16 digits, increasing in publish order across the hub' });
const nullableId = eventId.nullable();

/** A published event as streams, replays and history carry it. */
export const eventSchema = z.object({
  id: eventId, type: z.string(), data: z.unknown(), room: z.string().nullable(), userId: z.string().nullable(),
  sender: z.string(), timestamp: z.iso.datetime(),
});

/** The error body of every refusal. */
export const errorSchema = z.object({
  error: z.object({
    code: z.string().meta({ description: 'snake_case code, e.g. invalid_request, forbidden' }),
    message: z.string().meta({ description: 'For a person' }),
    details: z.array(z.object({ path: z.string(), message: z.string() })).optional()
      .meta({ description: 'The field paths at fault (invalid_request)' }),
  }),
});

/** The answer of login and refresh. */
export const tokenAnswer = z.object({
  token: z.string(), tokenType: z.literal('Bearer'), expiresIn: z.number().int(),
  user: z.object({ id: z.string(), role: z.enum(['user', 'publisher', 'admin']) }),
});
/** The answer of a publish. */
export const publishAnswer = z.object({ id: eventId, recipients: z.number().int() });
/** One room in `GET /rooms`. */
const roomSummary = z.object({ roomId: z.string(), connections: z.number().int(), users: z.number().int() });
/** `GET /stats`. */
export const statsAnswer = z.object({
  nodes: z.array(z.object({ nodeId: z.string(), connections: z.number().int(), uptimeSec: z.number().int() })),
  totalConnections: z.number().int(), activeUsers: z.number().int(), totalRooms: z.number().int(),
  roomStats: z.record(z.string(), z.number().int()),
  events: z.object({ published: z.number().int(), delivered: z.number().int(), evicted: z.number().int(), replayed: z.number().int() }),
  history: z.object({ size: z.number().int(), oldestId: nullableId, newestId: nullableId }),
  redis: z.enum(['up', 'down', 'disabled']),
});

/** Who may call an endpoint. */
export type Access = 'public' | 'authenticated' | 'publisher' | 'admin';

/** One parameter outside the body. */
export interface Param {
  name: string;
  in: 'path' | 'query' | 'header';
  schema: z.ZodType;
  description: string;
  required?: boolean;
}

/** One endpoint. */
export interface RouteDoc {
  method: 'get' | 'post';
  /** OpenAPI form: `/rooms/{roomId}/join`. */
  path: string;
  summary: string;
  description?: string;
  access: Access;
  params?: Param[];
  /** The body schema the route validates with (JSON). */
  body?: z.ZodType;
  /** The success status and its body (JSON unless `contentType` says otherwise). */
  ok: { status: number; description: string; schema?: z.ZodType; contentType?: string };
  /** The contract's refusals this endpoint answers, besides the ones its access implies. */
  errors?: ErrorCode[];
}

const roomParam: Param = { name: 'roomId', in: 'path', schema: roomIdSchema.meta({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$|^user:' }), description: 'Room id', required: true };
const userParam: Param = { name: 'userId', in: 'path', schema: userIdSchema, description: 'User id (a token\'s sub)', required: true };
const idempotencyKey: Param = { name: 'Idempotency-Key', in: 'header', schema: z.string().regex(/^[\x21-\x7e]{1,255}$/), description: 'A repeat within 10 minutes publishes nothing and answers the first answer again' };
const publishErrors: ErrorCode[] = ['invalid_request', 'not_found', 'payload_too_large', 'unsupported_media_type', 'unavailable'];
const membershipErrors: ErrorCode[] = ['invalid_request', 'forbidden', 'not_found', 'unsupported_media_type', 'rate_limited', 'too_many_rooms'];
const metaNote = ' `meta.<key>=<value>` query parameters give the connection metadata that broadcast filters match.';

/** Every endpoint the hub serves (Express routes, the static dashboard, and `GET /events` beside Express). */
export const ROUTES: readonly RouteDoc[] = [
  { method: 'get', path: '/health', summary: 'Liveness', access: 'public',
    ok: { status: 200, description: 'The process lives', schema: z.object({ status: z.literal('ok'), nodeId: z.string(), uptimeSec: z.number().int() }) } },
  { method: 'get', path: '/ready', summary: 'Readiness', access: 'public', errors: ['unavailable'],
    ok: { status: 200, description: 'Can serve everything', schema: z.object({ status: z.literal('ready'), nodeId: z.string() }) } },
  { method: 'get', path: '/stats', summary: 'Hub-wide figures', access: 'publisher', ok: { status: 200, description: 'Figures for every process', schema: statsAnswer } },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics of this process', access: 'public',
    ok: { status: 200, description: 'Prometheus text format', contentType: 'text/plain', schema: z.string() } },
  { method: 'get', path: '/openapi.json', summary: 'This document', access: 'public', ok: { status: 200, description: 'OpenAPI 3.1', schema: z.looseObject({ openapi: z.string() }) } },
  { method: 'get', path: '/sdk/roomcast.js', summary: 'The client library as one ES module (docs/client.md)', access: 'public',
    ok: { status: 200, description: 'JavaScript (cacheable, with an ETag; 304 when unchanged)', contentType: 'text/javascript', schema: z.string() } },
  { method: 'get', path: '/', summary: 'The web dashboard', access: 'public', ok: { status: 200, description: 'HTML', contentType: 'text/html', schema: z.string() } },
  { method: 'post', path: '/auth/login', summary: 'Log in', access: 'public', body: loginSchema, errors: ['invalid_request', 'invalid_credentials', 'unsupported_media_type', 'rate_limited'],
    description: 'Also sets the `roomcast_token` cookie (HttpOnly, SameSite=Strict).', ok: { status: 200, description: 'A token', schema: tokenAnswer } },
  { method: 'post', path: '/auth/logout', summary: 'Clear the token cookie', access: 'public', ok: { status: 200, description: 'Cookie cleared', schema: z.object({ loggedOut: z.literal(true) }) } },
  { method: 'post', path: '/auth/refresh', summary: 'A fresh token for a valid one', access: 'authenticated', ok: { status: 200, description: 'A token', schema: tokenAnswer } },
  { method: 'get', path: '/events', summary: 'The event stream (Server-Sent Events)', access: 'authenticated',
    description: `Starts with \`retry:\` and \`event: connected\`; with a last event id, replays what history holds after it, then live events.${metaNote}`,
    params: [
      { name: 'rooms', in: 'query', schema: z.string(), description: 'Comma list of rooms to join at connect' },
      { name: 'lastEventId', in: 'query', schema: z.string(), description: 'Resume after this event id (the Last-Event-ID header wins)' },
      { name: 'Last-Event-ID', in: 'header', schema: z.string(), description: 'Resume after this event id' },
      { name: 'access_token', in: 'query', schema: z.string(), description: 'The token, for EventSource (which cannot send headers)' },
    ],
    errors: ['invalid_request', 'forbidden', 'too_many_connections', 'too_many_rooms', 'unavailable'],
    ok: { status: 200, description: 'The stream', contentType: 'text/event-stream', schema: z.string() } },
  { method: 'get', path: '/events/history', summary: 'Kept events after an id', access: 'authenticated', description: `Events the caller may see, oldest first.${metaNote}`,
    params: [
      { name: 'after', in: 'query', schema: z.string(), description: 'Events after this id (none: from the oldest kept)' },
      { name: 'limit', in: 'query', schema: z.number().int().min(1).max(1000), description: 'At most this many (default 100)' },
      { name: 'room', in: 'query', schema: roomIdSchema, description: 'Only events to this room' },
    ],
    errors: ['invalid_request'],
    ok: { status: 200, description: 'Events', schema: z.object({ events: z.array(eventSchema), oldestAvailable: nullableId, gap: z.boolean() }) } },
  { method: 'get', path: '/rooms', summary: 'Rooms the caller may see', access: 'authenticated', ok: { status: 200, description: 'Rooms', schema: z.object({ rooms: z.array(roomSummary) }) } },
  { method: 'get', path: '/rooms/{roomId}/members', summary: 'Members of a room', access: 'authenticated', params: [roomParam], errors: ['invalid_request', 'forbidden'],
    ok: { status: 200, description: 'Members', schema: z.object({ roomId: z.string(), users: z.array(z.object({ userId: z.string(), connections: z.number().int() })) }) } },
  { method: 'post', path: '/rooms/{roomId}/join', summary: 'Join a room (the user\'s connections, or one)', access: 'authenticated', params: [roomParam], body: membershipSchema, errors: membershipErrors,
    ok: { status: 200, description: 'Joined', schema: z.object({ roomId: z.string(), joined: z.number().int() }) } },
  { method: 'post', path: '/rooms/{roomId}/leave', summary: 'Leave a room', access: 'authenticated', params: [roomParam], body: membershipSchema, errors: membershipErrors,
    ok: { status: 200, description: 'Left', schema: z.object({ roomId: z.string(), left: z.number().int() }) } },
  { method: 'post', path: '/rooms/{roomId}/messages', summary: 'Post a chat message to a room', access: 'authenticated', params: [roomParam], body: chatSchema,
    errors: ['invalid_request', 'forbidden', 'unsupported_media_type', 'rate_limited', 'unavailable'], ok: { status: 202, description: 'Published', schema: z.object({ id: eventId }) } },
  { method: 'post', path: '/broadcast', summary: 'Publish an event', access: 'publisher', params: [idempotencyKey], body: publishSchema, errors: publishErrors,
    description: 'At most one of room, userId, connectionId; none means everyone.', ok: { status: 202, description: 'In history and on its way', schema: publishAnswer } },
  { method: 'post', path: '/broadcast/room/{roomId}', summary: 'Publish to a room', access: 'publisher', params: [roomParam, idempotencyKey], body: publishSchema, errors: publishErrors,
    ok: { status: 202, description: 'Published', schema: publishAnswer } },
  { method: 'post', path: '/broadcast/user/{userId}', summary: 'Publish to a user', access: 'publisher', params: [userParam, idempotencyKey], body: publishSchema, errors: publishErrors,
    ok: { status: 202, description: 'Published', schema: publishAnswer } },
  { method: 'post', path: '/broadcast/batch', summary: 'Publish up to 100 events in order', access: 'publisher', params: [idempotencyKey], body: batchSchema, errors: publishErrors,
    ok: { status: 202, description: 'Published', schema: z.object({ ids: z.array(eventId) }) } },
  { method: 'post', path: '/admin/disconnect', summary: 'End the streams of a user, or one stream, on every process', access: 'admin', body: disconnectSchema,
    description: 'Each stream receives `event: disconnected {"reason"}` and ends; its client may reconnect (not a ban).',
    errors: ['invalid_request', 'unsupported_media_type', 'unavailable'], ok: { status: 200, description: 'Streams ended', schema: z.object({ disconnected: z.number().int() }) } },
  { method: 'post', path: '/admin/revoke', summary: 'Revoke a user\'s tokens issued at or before an instant', access: 'admin', body: revokeSchema,
    description: 'Tokens of the user issued (iat) at or before `before` (default now), or without iat, are refused; its streams holding them receive `event: token-revoked` and end.',
    errors: ['invalid_request', 'unsupported_media_type', 'unavailable'], ok: { status: 200, description: 'Revoked', schema: z.object({ userId: z.string(), before: z.iso.datetime() }) } },
];
