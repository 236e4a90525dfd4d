import { readFileSync } from 'node:fs';
import { Router } from 'express';
import { z } from 'zod';
import { ERROR_STATUS, type ErrorCode } from '../core/errors.js';
import { disconnectSchema, revokeSchema } from './admin-schemas.js';
import {
  ROUTES, errorSchema, eventSchema, publishAnswer, statsAnswer, tokenAnswer, type Access, type RouteDoc,
} from './openapi-routes.js';
import { batchSchema, chatSchema, loginSchema, membershipSchema, publishSchema } from './schemas.js';

/** A JSON Schema or OpenAPI object, as plain JSON. */
type Json = Record<string, unknown>;

/** The schemas named in `components.schemas`; operations refer to them with `$ref`. */
const COMPONENTS: readonly (readonly [string, z.ZodType])[] = [
  ['Error', errorSchema], ['Event', eventSchema], ['TokenAnswer', tokenAnswer], ['PublishAnswer', publishAnswer], ['Stats', statsAnswer],
  ['LoginRequest', loginSchema], ['MembershipRequest', membershipSchema], ['ChatMessageRequest', chatSchema],
  ['PublishRequest', publishSchema], ['BatchRequest', batchSchema], ['DisconnectRequest', disconnectSchema], ['RevokeRequest', revokeSchema],
];

/** Security requirements for endpoints that need a token: any one of the three places it may come from. */
const TOKEN_SECURITY = [{ bearerAuth: [] }, { cookieAuth: [] }, { queryToken: [] }];

/** The refusals an endpoint's access implies. */
const ACCESS_ERRORS: Record<Access, ErrorCode[]> = {
  public: [],
  authenticated: ['unauthenticated'],
  publisher: ['unauthenticated', 'forbidden'],
  admin: ['unauthenticated', 'forbidden'],
};

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

/** A zod schema as JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1), without `$schema`/`$id`. */
function jsonSchema(schema: z.ZodType, byName: Map<z.ZodType, string>): Json {
  const name = byName.get(schema);
  if (name !== undefined) return ref(name);
  const { $schema: _s, $id: _i, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Json;
  return rest;
}

/** `components.schemas`: the named schemas, with references between them. */
function componentSchemas(): { schemas: Record<string, Json>; byName: Map<z.ZodType, string> } {
  const registry = z.registry<{ id: string }>();
  const byName = new Map<z.ZodType, string>();
  for (const [name, schema] of COMPONENTS) {
    registry.add(schema, { id: name });
    byName.set(schema, name);
  }
  const out = z.toJSONSchema(registry, {
    target: 'draft-2020-12', io: 'input', unrepresentable: 'any', uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Json> };
  const schemas: Record<string, Json> = {};
  for (const [name, s] of Object.entries(out.schemas)) {
    const { $schema: _s, $id: _i, ...rest } = s;
    schemas[name] = rest;
  }
  return { schemas, byName };
}

/** The error answers of one operation, grouped by status (several codes can share one). */
function errorResponses(codes: readonly ErrorCode[]): Record<string, Json> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  const out: Record<string, Json> = {};
  for (const [status, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    const headers: Json = {};
    if (list.includes('unauthenticated')) headers['WWW-Authenticate'] = { schema: { type: 'string' }, description: 'Bearer realm="roomcast"' };
    if (status === 429 || status === 503) headers['Retry-After'] = { schema: { type: 'integer' }, description: 'Seconds to wait' };
    out[String(status)] = {
      description: `error.code: ${list.join(' or ')}`,
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      content: { 'application/json': { schema: ref('Error') } },
    };
  }
  return out;
}

/** `post /rooms/{roomId}/join` → `postRoomsRoomIdJoin`. */
function operationId(route: RouteDoc): string {
  const words = route.path.split(/[/{}._-]+/).filter(Boolean);
  return route.method + (words.length === 0 ? 'Root' : words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join(''));
}

function operation(route: RouteDoc, byName: Map<z.ZodType, string>): Json {
  const contentType = route.ok.contentType ?? 'application/json';
  const op: Json = {
    operationId: operationId(route),
    summary: route.summary,
    tags: [route.path.split('/')[1] || 'dashboard'],
    ...(route.description !== undefined ? { description: route.description } : {}),
    ...(route.access === 'public' ? { security: [] } : { security: TOKEN_SECURITY }),
  };
  if (route.access === 'publisher' || route.access === 'admin') {
    op.description = `${route.access === 'admin' ? 'Role admin.' : 'Role publisher or admin.'}${route.description === undefined ? '' : ` ${route.description}`}`;
  }
  if (route.params !== undefined) {
    op.parameters = route.params.map((p) => ({
      name: p.name, in: p.in, required: p.in === 'path' || p.required === true, description: p.description, schema: jsonSchema(p.schema, byName),
    }));
  }
  if (route.body !== undefined) {
    op.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(route.body, byName) } } };
  }
  op.responses = {
    [String(route.ok.status)]: {
      description: route.ok.description,
      ...(route.ok.schema !== undefined ? { content: { [contentType]: { schema: jsonSchema(route.ok.schema, byName) } } } : {}),
    },
    ...errorResponses([...ACCESS_ERRORS[route.access], ...(route.errors ?? [])]),
    default: { description: 'Any other refusal in the contract\'s error shape (request_timeout, internal)', content: { 'application/json': { schema: ref('Error') } } },
  };
  return op;
}

/** The package version, for `info.version`. */
function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** The OpenAPI 3.1 document of every endpoint, built from the zod schemas the routes validate with. */
export function openApiDocument(): Json {
  const { schemas, byName } = componentSchemas();
  const paths: Record<string, Json> = {};
  for (const route of ROUTES) paths[route.path] = { ...paths[route.path], [route.method]: operation(route, byName) };
  return {
    openapi: '3.1.0',
    info: {
      title: 'roomcast',
      version: packageVersion(),
      description: 'A real-time broadcast hub: Server-Sent Events streams, rooms, replayable history. Every error body is {"error": {"code", "message", "details"?}}.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        cookieAuth: { type: 'apiKey', in: 'cookie', name: 'roomcast_token' },
        queryToken: { type: 'apiKey', in: 'query', name: 'access_token' },
      },
    },
  };
}

/** `GET /openapi.json`: the document, built once. */
export function openApiRouter(): Router {
  const router = Router();
  let body: string | undefined;
  router.get('/openapi.json', (_req, res) => {
    body ??= JSON.stringify(openApiDocument());
    res.type('application/json').send(body);
  });
  return router;
}
