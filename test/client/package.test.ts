// The package as a user installs it: `npm pack`, `npm install` of the tarball in a new project,
// then Node.js programs that import `roomcast/client` from node_modules subscribe, join a room and
// publish against a real hub; and TypeScript checks a consumer against the package's types.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/processes.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);

const SUBSCRIBER = `
import { RoomcastClient } from 'roomcast/client';
const client = new RoomcastClient({ url: process.env.HUB, token: process.env.TOKEN });
const sub = client.subscribe({ rooms: ['news'] });
const got = [];
const states = [];
sub.on('state', (s) => states.push(s));
sub.on('headline', (e) => got.push(e));
sub.on('quote', (e) => got.push(e));
sub.on('connected', async () => {
  const joined = await client.join('stocks');
  console.log(JSON.stringify({ ready: true, joined, resolved: import.meta.resolve('roomcast/client') }));
});
const done = setInterval(() => {
  if (got.length < 2) return;
  clearInterval(done);
  client.close();
  console.log(JSON.stringify({ got, states }));
}, 20);
`;

const PUBLISHER = `
import { RoomcastPublisher } from 'roomcast/client';
const pub = new RoomcastPublisher({ url: process.env.HUB, token: process.env.TOKEN });
const one = await pub.publish({ type: 'headline', data: { title: 'from a package' }, room: 'news' });
const batch = await pub.publishBatch([{ type: 'quote', data: { symbol: 'ACME', price: 1.5 }, room: 'stocks' }]);
console.log(JSON.stringify({ ids: [one.id, ...batch.ids] }));
`;

const CONSUMER_TS = `
import { RoomcastClient, RoomcastPublisher, RoomcastError, type RoomcastEvent, type SubscriptionState } from 'roomcast/client';
type Events = { quote: { symbol: string; price: number } };
const client = new RoomcastClient({ url: 'http://127.0.0.1:1', getToken: async () => 'token' });
const sub = client.subscribe<Events>({ rooms: ['stocks'] });
sub.on('quote', (e) => { const price: number = e.data.price; void price; });
sub.on('state', (s: SubscriptionState) => void s);
sub.on('gap', ({ lastEventId, oldestAvailable }) => void [lastEventId, oldestAvailable]);
sub.on('anything-else', (e: RoomcastEvent) => void e.id);
sub.on('error', (e: RoomcastError) => void e.code);
// @ts-expect-error a quote's symbol is a string
sub.on('quote', (e) => { const n: number = e.data.symbol; void n; });
// @ts-expect-error the state is one of four words
sub.on('state', (s) => { const n: number = s; void n; });
const pub = new RoomcastPublisher({ url: 'http://127.0.0.1:1', token: 't' });
void pub.publish({ type: 'quote', data: { symbol: 'X', price: 1 }, room: 'stocks' }).then(({ id, recipients }) => [id.length, recipients + 1]);
// @ts-expect-error publishing needs a type
void pub.publish({ data: {} });
sub.close();
client.close();
`;

let dir: string;
let hub: TestHub;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'roomcast-package-'));
  const [packed] = JSON.parse((await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT })).stdout) as { filename: string }[];
  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // Dependencies come from npm's cache where it has them (this is a real install all the same).
  await run('npm', ['install', '--prefer-offline', '--omit=dev', '--no-audit', '--no-fund', join(dir, packed?.filename ?? '')], { cwd: app, timeout: 170_000 });
  writeFileSync(join(app, 'subscriber.mjs'), SUBSCRIBER);
  writeFileSync(join(app, 'publisher.mjs'), PUBLISHER);
  writeFileSync(join(app, 'consumer.ts'), CONSUMER_TS);
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022'], strict: true, noEmit: true,
      skipLibCheck: false, types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')],
    },
    files: ['consumer.ts'],
  }));
  hub = await startTestHub();
}, 180_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await hub?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs `node <script>` in the app and yields each JSON line it prints. */
function node(script: string, env: Record<string, string>): { lines: unknown[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [script], { cwd: join(dir, 'app'), env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const lines: unknown[] = [];
  let buf = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => {
    buf += c;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      lines.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    children.delete(child);
    if (code !== 0) lines.push({ stderr: err });
    resolve(code);
  }));
  return { lines, exited };
}

describe('roomcast/client from an installed package', () => {
  it('subscribes, joins and publishes from Node.js programs that import it from node_modules', async () => {
    const sub = node('subscriber.mjs', { HUB: hub.url, TOKEN: hub.token('alice') });
    const ready = await waitFor('the subscriber ready', () => sub.lines[0] as { ready?: boolean; joined?: unknown; resolved?: string; stderr?: string } | undefined, 15_000);
    expect(ready.stderr).toBeUndefined();
    expect(ready.joined).toEqual({ roomId: 'stocks', joined: 1 });
    expect(ready.resolved).toBe(`file://${join(dir, 'app/node_modules/roomcast/dist/client/index.js')}`);

    const pub = node('publisher.mjs', { HUB: hub.url, TOKEN: hub.token('svc', 'publisher') });
    expect(await pub.exited).toBe(0);
    const { ids } = pub.lines[0] as { ids: string[] };
    expect(await sub.exited).toBe(0);
    const { got, states } = sub.lines[1] as { got: { id: string; type: string; room: string; sender: string; data: unknown }[]; states: string[] };
    expect(got.map((e) => [e.id, e.type, e.room, e.sender])).toEqual([[ids[0], 'headline', 'news', 'svc'], [ids[1], 'quote', 'stocks', 'svc']]);
    expect(got[1]?.data).toEqual({ symbol: 'ACME', price: 1.5 });
    expect(states).toEqual(['connecting', 'open', 'closed']);
  }, 30_000);

  it("type-checks a TypeScript consumer against the package's declarations", async () => {
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const out = await run(process.execPath, [tsc, '-p', join(dir, 'app/tsconfig.json')]).then(() => '', (e: { stdout: string }) => e.stdout);
    expect(out).toBe('');
  }, 60_000);
});
