// The Grafana dashboard in deploy/grafana: a well-formed dashboard whose every query names only
// metrics that /metrics exposes (read from a hub on Redis, which has all of them).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub.js';
import { REDIS_URL, deletePrefix } from '../support/redis-keys.js';

interface Target { refId: string; expr: string; datasource?: unknown }
interface Panel { id: number; type: string; title: string; gridPos: Record<string, number>; targets?: Target[]; datasource?: unknown }
interface Dashboard {
  title: string;
  uid: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown; definition?: string }[] };
}

const dashboard = JSON.parse(readFileSync(new URL('../../deploy/grafana/roomcast.json', import.meta.url), 'utf8')) as Dashboard;

/** PromQL words that are not metric names. */
const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'inf', 'nan']);

/** The metric names a PromQL expression (or a Grafana `label_values(...)` query) reads. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // string literals
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // range selectors ($__rate_interval included)
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '') // label lists
    .replace(/label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,[^)]*\)/g, '$1'); // Grafana's variable query
  const names: string[] = [];
  for (const m of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const at = m.index ?? 0;
    const prev = bare[at - 1];
    if (prev !== undefined && /[0-9.$]/.test(prev)) continue; // part of a number or a variable
    if (/^\s*\(/.test(bare.slice(at + m[0].length))) continue; // a function
    if (!PROMQL_WORDS.has(m[0])) names.push(m[0]);
  }
  return names;
}

const prefix = `test-grafana-${randomBytes(4).toString('hex')}:`;
let hub: TestHub;
let exposed: Set<string>;
beforeAll(async () => {
  hub = await startTestHub({ REDIS_URL, REDIS_PREFIX: prefix, NODE_ID: 'grafana' });
  const text = await (await hub.call('/metrics')).text();
  exposed = new Set(text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)?.[0] ?? ''));
});
afterAll(async () => {
  await hub?.close();
  await deletePrefix(prefix);
});

describe('deploy/grafana/roomcast.json', () => {
  const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

  it('is a dashboard with a uid, unique panel ids, placed panels and a templated Prometheus data source', () => {
    expect(dashboard.title).toBe('roomcast');
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(30);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      for (const k of ['x', 'y', 'w', 'h']) expect(p.gridPos[k], `${p.title} gridPos.${k}`).toBeTypeOf('number');
      if (p.type === 'row') continue;
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
    }
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'node']);
  });

  it('covers connections, publish/deliver rates, evictions, latency quantiles, Redis errors, CPU, RSS and event loop lag', () => {
    const used = new Set(queries.flatMap((q) => metricNames(q.expr)));
    for (const name of ['roomcast_connections', 'roomcast_events_published_total', 'roomcast_events_delivered_total',
      'roomcast_evictions_total', 'roomcast_delivery_latency_seconds_bucket', 'roomcast_redis_errors_total',
      'process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds']) {
      expect(used, name).toContain(name);
    }
    expect(queries.filter((q) => q.expr.startsWith('histogram_quantile(')).length).toBeGreaterThanOrEqual(3);
  });

  it('reads only metrics that /metrics exposes', () => {
    const templated = dashboard.templating.list.flatMap((v) => (v.definition === undefined ? [] : [{ panel: `$${v.name}`, expr: v.definition }]));
    const all = [...queries, ...templated];
    expect(all.length).toBeGreaterThan(10);
    for (const q of all) {
      const names = metricNames(q.expr);
      expect(names.length, `${q.panel}: ${q.expr}`).toBeGreaterThan(0);
      for (const name of names) expect(exposed, `${q.panel}: ${name}`).toContain(name);
    }
  });

  it('finds the metric names in PromQL', () => {
    expect(metricNames('histogram_quantile(0.99, sum by (le) (rate(a_bucket{node=~"$node"}[$__rate_interval])))')).toEqual(['a_bucket']);
    expect(metricNames('sum(rate(x_total[5m])) / sum(rate(y_count{a="b"}[1m])) and on (node) z')).toEqual(['x_total', 'y_count', 'z']);
    expect(metricNames('label_values(roomcast_connections, node)')).toEqual(['roomcast_connections']);
  });
});
