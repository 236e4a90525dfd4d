/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are read loosely in tests */
// One HTTP helper for hubs reached by URL (child processes, nginx); in-process hubs have TestHub.call.
import { waitFor } from './wait.js';

/** What a request answered: its status, its headers and its body, parsed when it is JSON. */
export interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

/** Sends one request (bounded) with an optional bearer token and JSON body; answers status and body. */
export async function api(
  base: string, method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body, headers: res.headers };
}

/** Logs a demo (or USERS_FILE) user in and answers the token; the password defaults to the name. */
export async function login(base: string, username: string, password = username): Promise<string> {
  const r = await api(base, 'POST', '/auth/login', { body: { username, password } });
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token as string;
}

/** Waits (bounded) until `/stats`, read with `token`, lists `count` nodes; answers their ids, sorted. */
export async function nodesInStats(base: string, token: string, count: number, timeoutMs = 10_000): Promise<string[]> {
  return waitFor(`${count} nodes in ${base}/stats`, async () => {
    const r = await api(base, 'GET', '/stats', { token });
    const ids = r.status === 200 ? (r.body.nodes as { nodeId: string }[]).map((n) => n.nodeId).sort() : [];
    return ids.length === count ? ids : undefined;
  }, timeoutMs, 100);
}
