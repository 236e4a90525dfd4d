// Conformance checks of the benchmark's own parsers (SSE per WHATWG, HTTP chunked bodies), fed
// whole, byte by byte and at every split point. `node bench/selftest.mjs` exits 1 on a failure.
import assert from 'node:assert/strict';
import { SseParser } from './lib/sse-parser.mjs';
import { ResponseReader } from './lib/http-stream.mjs';
import { Hist } from './lib/hist.mjs';

function parseAll(chunks) {
  const events = [];
  const comments = [];
  let retry = null;
  const p = new SseParser({
    onEvent: (type, data, id) => events.push({ type, data, id }),
    onComment: (c) => comments.push(c),
    onRetry: (ms) => { retry = ms; },
  });
  for (const c of chunks) p.pushBytes(c);
  p.end();
  return { events, comments, retry };
}

function splits(bytes) {
  const out = [[bytes], Array.from(bytes, (b) => Buffer.from([b]))];
  for (let i = 1; i < bytes.length; i++) out.push([bytes.subarray(0, i), bytes.subarray(i)]);
  return out;
}

const cases = [
  ['LF endings, default type', 'data: hello\n\n', [{ type: 'message', data: 'hello', id: '' }]],
  ['CRLF endings', 'event: a\r\ndata: x\r\nid: 7\r\n\r\n', [{ type: 'a', data: 'x', id: '7' }]],
  ['lone CR endings', 'event: a\rdata: x\r\r', [{ type: 'a', data: 'x', id: '' }]],
  ['multi-line data', 'data: a\ndata: b\ndata\n\n', [{ type: 'message', data: 'a\nb\n', id: '' }]],
  ['one leading space only', 'data:  two\ndata:none\n\n', [{ type: 'message', data: ' two\nnone', id: '' }]],
  ['empty data dispatches nothing', 'event: x\n\ndata: y\n\n', [{ type: 'message', data: 'y', id: '' }]],
  ['data: with empty value dispatches ""', 'data\n\n', [{ type: 'message', data: '', id: '' }]],
  ['id persists, NUL id ignored', 'id: 1\ndata: a\n\nid: 2\u0000x\ndata: b\n\n', [{ type: 'message', data: 'a', id: '1' }, { type: 'message', data: 'b', id: '1' }]],
  ['empty id resets', 'id: 5\ndata: a\n\nid\ndata: b\n\n', [{ type: 'message', data: 'a', id: '5' }, { type: 'message', data: 'b', id: '' }]],
  ['comments and unknown fields ignored', ': ping\n\nfoo: bar\ndata: z\n\n', [{ type: 'message', data: 'z', id: '' }]],
  ['BOM stripped once', '\uFEFFdata: a\n\n', [{ type: 'message', data: 'a', id: '' }]],
  ['second BOM kept (field name differs)', '\uFEFF\uFEFFdata: a\n\ndata: b\n\n', [{ type: 'message', data: 'b', id: '' }]],
  ['multibyte UTF-8 intact', 'data: héllo 🌍 ✓\n\n', [{ type: 'message', data: 'héllo 🌍 ✓', id: '' }]],
  ['incomplete event discarded at end', 'data: a\n\ndata: b\n', [{ type: 'message', data: 'a', id: '' }]],
  ['colon in value', 'data: {"a":"b:c"}\n\n', [{ type: 'message', data: '{"a":"b:c"}', id: '' }]],
  ['CRLF then LF mix', 'data: a\r\n\ndata: b\n\r\n', [{ type: 'message', data: 'a', id: '' }, { type: 'message', data: 'b', id: '' }]],
  ['CR CR is two lines', 'data: a\r\rdata: b\r\n\r\n', [{ type: 'message', data: 'a', id: '' }, { type: 'message', data: 'b', id: '' }]],
  ['hub frame', 'retry: 3000\n\nevent: connected\ndata: {"x":1}\n\nid: 0000000000000001\nevent: bench\ndata: {"id":"0000000000000001"}\n\n: ping\n\n',
    [{ type: 'connected', data: '{"x":1}', id: '' }, { type: 'bench', data: '{"id":"0000000000000001"}', id: '0000000000000001' }]],
];

let n = 0;
for (const [name, text, expected] of cases) {
  for (const chunks of splits(Buffer.from(text, 'utf8'))) {
    const got = parseAll(chunks);
    assert.deepEqual(got.events, expected, `${name} (split ${chunks.map((c) => c.length).join('+')})`);
    n++;
  }
}
{
  const r = parseAll([Buffer.from('retry: 1500\n\nretry: 12x\n\n: ping\n\n')]);
  assert.equal(r.retry, 1500);
  assert.deepEqual(r.comments, [' ping']);
}

// Chunked transfer coding, split everywhere.
const body = 'data: one\n\ndata: twö\n\n';
const b = Buffer.from(body);
const wire = Buffer.concat([
  Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n'),
  Buffer.from(`${(7).toString(16)}\r\n`), b.subarray(0, 7), Buffer.from('\r\n'),
  Buffer.from(`${(b.length - 7).toString(16)};ext=1\r\n`), b.subarray(7), Buffer.from('\r\n'),
  Buffer.from('0\r\n\r\n'),
]);
for (const chunks of splits(wire)) {
  let status = 0, ended = false;
  const p = new SseParser({ onEvent: (t, d) => got.push(d) });
  const got = [];
  const rr = new ResponseReader({ onHead: (h) => { status = h.status; }, onBody: (x) => p.pushBytes(x), onEnd: () => { ended = true; }, onError: (m) => { throw new Error(m); } });
  for (const c of chunks) rr.push(c);
  assert.equal(status, 200);
  assert.equal(ended, true);
  assert.deepEqual(got, ['one', 'twö']);
  n++;
}

// Histogram percentiles within a bucket.
const h = new Hist();
for (let i = 1; i <= 1000; i++) h.record(i * 100);
assert.ok(Math.abs(h.percentile(50) - 50_000) / 50_000 < 0.03);
assert.ok(Math.abs(h.percentile(99) - 99_000) / 99_000 < 0.03);
assert.equal(Hist.from(JSON.parse(JSON.stringify(h.toJSON()))).n, 1000);

console.log(`selftest ok: ${n} parser runs`);
