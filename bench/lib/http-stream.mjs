// Minimal HTTP/1.1 response reading for raw sockets: the response head, then a body that is either
// chunked (Transfer-Encoding: chunked, what Node servers send for streams) or delimited by the
// connection close / Content-Length. Only what a load client needs, with no per-chunk allocation
// beyond subarray views.

const CRLFCRLF = Buffer.from('\r\n\r\n');
const MAX_HEAD = 16 * 1024;

/** Parses a response head (bytes before CRLFCRLF) into {status, headers}. */
export function parseHead(text) {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  const status = m ? Number(m[1]) : 0;
  const headers = Object.create(null);
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i];
    const c = l.indexOf(':');
    if (c <= 0) continue;
    const k = l.slice(0, c).trim().toLowerCase();
    const v = l.slice(c + 1).trim();
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  }
  return { status, headers };
}

/**
 * Incremental response reader. push(buf) feeds socket bytes; callbacks:
 * onHead({status, headers}), onBody(bytesView), onEnd() when a chunked / sized body is complete,
 * onError(message) on a malformed response.
 */
export class ResponseReader {
  constructor({ onHead, onBody, onEnd, onError }) {
    this.onHead = onHead; this.onBody = onBody; this.onEnd = onEnd ?? (() => {}); this.onError = onError ?? (() => {});
    this.head = null;       // pending head bytes
    this.inBody = false;
    this.mode = 'close';    // 'chunked' | 'length' | 'close'
    this.remaining = 0;     // bytes left in the current chunk / sized body
    this.cstate = 0;        // chunked: 0 size line, 1 data, 2 CRLF after data, 3 trailers, 4 done
    this.sizeLine = '';
    this.crlfLeft = 0;
    this.done = false;
  }

  push(buf) {
    if (this.done) return;
    if (!this.inBody) {
      const all = this.head === null ? buf : Buffer.concat([this.head, buf]);
      const at = all.indexOf(CRLFCRLF);
      if (at === -1) {
        if (all.length > MAX_HEAD) { this.done = true; this.onError('response head too large'); return; }
        this.head = all;
        return;
      }
      this.head = null;
      this.inBody = true;
      const head = parseHead(all.toString('latin1', 0, at));
      const te = (head.headers['transfer-encoding'] ?? '').toLowerCase();
      if (te.includes('chunked')) this.mode = 'chunked';
      else if (head.headers['content-length'] !== undefined) { this.mode = 'length'; this.remaining = Number(head.headers['content-length']); }
      else this.mode = 'close';
      this.onHead(head);
      if (this.done) return;
      buf = all.subarray(at + 4);
      if (this.mode === 'length' && this.remaining === 0) { this.done = true; this.onEnd(); return; }
      if (buf.length === 0) return;
    }
    if (this.mode === 'chunked') this.chunked(buf);
    else if (this.mode === 'length') {
      const take = Math.min(this.remaining, buf.length);
      if (take > 0) this.onBody(buf.subarray(0, take));
      this.remaining -= take;
      if (this.remaining === 0) { this.done = true; this.onEnd(); }
    } else this.onBody(buf);
  }

  chunked(buf) {
    let i = 0;
    const n = buf.length;
    while (i < n && !this.done) {
      switch (this.cstate) {
        case 0: { // size line up to LF
          const lf = buf.indexOf(10, i);
          if (lf === -1) { this.sizeLine += buf.toString('latin1', i, n); i = n; break; }
          const line = this.sizeLine + buf.toString('latin1', i, lf);
          this.sizeLine = '';
          i = lf + 1;
          const size = parseInt(line, 16);
          if (!Number.isFinite(size) || size < 0) { this.done = true; this.onError(`bad chunk size line ${JSON.stringify(line.slice(0, 40))}`); return; }
          if (size === 0) { this.cstate = 3; break; }
          this.remaining = size;
          this.cstate = 1;
          break;
        }
        case 1: {
          const take = Math.min(this.remaining, n - i);
          this.onBody(buf.subarray(i, i + take));
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) { this.cstate = 2; this.crlfLeft = 2; }
          break;
        }
        case 2: { // CRLF after chunk data
          const c = buf[i];
          i++;
          if (c === 10) { this.cstate = 0; }
          else if (c !== 13) { this.done = true; this.onError('missing CRLF after chunk'); return; }
          break;
        }
        case 3: { // trailers until an empty line
          const lf = buf.indexOf(10, i);
          if (lf === -1) { this.sizeLine += buf.toString('latin1', i, n); i = n; break; }
          const line = (this.sizeLine + buf.toString('latin1', i, lf)).replace(/\r$/, '');
          this.sizeLine = '';
          i = lf + 1;
          if (line === '') { this.done = true; this.onEnd(); }
          break;
        }
        default: i = n;
      }
    }
  }
}
