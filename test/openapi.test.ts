// GET /openapi.json: a valid OpenAPI 3.1 document, generated from the zod schemas the routes
// validate with, naming every route the hub serves (Express's router, walked) and nothing else.
import { Validator } from '@seriousme/openapi-schema-validator';
import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from './support/hub.js';

type Json = Record<string, unknown>;
interface Operation {
  operationId: string;
  security?: unknown[];
  requestBody?: { content: Record<string, { schema: Json }> };
  responses: Record<string, { content?: Record<string, { schema: Json }> }>;
}
interface Doc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Json>; securitySchemes: Json };
}

/** An Express router layer, as far as this walk reads it (Express 5). */
interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
}

/** `METHOD /path` of every route Express serves, with `:param` written `{param}`. */
function servedRoutes(app: Express): string[] {
  const out: string[] = [];
  const walk = (stack: Layer[]): void => {
    for (const layer of stack) {
      if (layer.route !== undefined) {
        const path = layer.route.path.replace(/:(\w+)/g, '{$1}');
        for (const method of Object.keys(layer.route.methods)) if (method !== '_all') out.push(`${method.toUpperCase()} ${path}`);
      } else if (layer.handle.stack !== undefined) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return out;
}

let hub: TestHub;
let doc: Doc;
beforeAll(async () => {
  hub = await startTestHub();
  const r = await hub.call('/openapi.json');
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  doc = (await r.json()) as Doc;
});
afterAll(async () => hub.close());

const operations = (): [string, Operation][] =>
  Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([m, op]) => [`${m.toUpperCase()} ${path}`, op] as [string, Operation]));

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(doc as unknown as Json);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('roomcast');
  });

  it('names every route Express serves, GET /events (served beside Express) and the dashboard, and nothing else', () => {
    const served = new Set([...servedRoutes(hub.running.app), 'GET /events', 'GET /']);
    const documented = new Set(operations().map(([k]) => k));
    expect(served.size).toBeGreaterThan(15);
    expect([...served].filter((k) => !documented.has(k)), 'served but not documented').toEqual([]);
    expect([...documented].filter((k) => !served.has(k)), 'documented but not served').toEqual([]);
    expect(documented).toContain('POST /admin/disconnect');
    expect(documented).toContain('POST /admin/revoke');
  });

  it('gives every operation a unique id, a success answer and the error shape for its refusals', () => {
    const ids = operations().map(([, op]) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [key, op] of operations()) {
      const statuses = Object.keys(op.responses);
      expect(statuses.some((s) => /^2\d\d$/.test(s)), key).toBe(true);
      for (const s of [...statuses.filter((x) => /^[45]\d\d$/.test(x)), 'default']) {
        expect(op.responses[s]?.content?.['application/json']?.schema, `${key} ${s}`).toEqual({ $ref: '#/components/schemas/Error' });
      }
      const secured = (op.security ?? []).length > 0;
      expect(statuses.includes('401'), `${key} 401`).toBe(secured || key === 'POST /auth/login');
      if (op.requestBody !== undefined) expect(statuses, `${key} 400`).toContain('400');
    }
    for (const key of ['POST /admin/disconnect', 'POST /admin/revoke', 'POST /broadcast', 'GET /stats']) {
      expect(Object.keys(doc.paths[key.split(' ')[1]!]![key.split(' ')[0]!.toLowerCase()]!.responses), key).toContain('403');
    }
    expect(doc.components.schemas.Error).toMatchObject({
      type: 'object', required: ['error'],
      properties: { error: { type: 'object', required: ['code', 'message'], properties: { details: { type: 'array' } } } },
    });
  });

  it('describes request bodies with the schemas the routes validate with', () => {
    const body = (key: string): Json => {
      const [method, path] = key.split(' ') as [string, string];
      return doc.paths[path]![method.toLowerCase()]!.requestBody!.content['application/json']!.schema;
    };
    expect(body('POST /admin/disconnect')).toEqual({ $ref: '#/components/schemas/DisconnectRequest' });
    expect(doc.components.schemas.DisconnectRequest).toMatchObject({
      type: 'object', additionalProperties: false,
      properties: { userId: { type: 'string' }, connectionId: { type: 'string' }, reason: { type: 'string', maxLength: 200 } },
      oneOf: [{ required: ['userId'] }, { required: ['connectionId'] }],
    });
    expect(doc.components.schemas.RevokeRequest).toMatchObject({
      required: ['userId'], properties: { before: { type: 'string', format: 'date-time' } },
    });
    expect(body('POST /broadcast/room/{roomId}')).toEqual({ $ref: '#/components/schemas/PublishRequest' });
    expect(doc.components.schemas.PublishRequest).toMatchObject({
      required: ['type'], additionalProperties: false,
      properties: { type: { pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$' }, filters: {} },
    });
    expect(doc.components.schemas.BatchRequest).toMatchObject({
      properties: { events: { type: 'array', maxItems: 100, items: { $ref: '#/components/schemas/PublishRequest' } } },
    });
    expect(doc.components.schemas.LoginRequest).toMatchObject({ required: ['username', 'password'] });
  });
});
