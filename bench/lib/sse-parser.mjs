// A WHATWG-conformant parser for text/event-stream (HTML Living Standard, "Server-sent events",
// §9.2.6 "Interpreting an event stream"), written for throughput: it works on decoded strings,
// splits lines with indexOf and allocates nothing per line beyond the field value.
//
// What the standard requires and this parser does:
// - the byte stream is UTF-8 decoded with one leading BOM stripped and invalid bytes replaced
//   (TextDecoder in streaming mode, so a character split across reads is kept whole);
// - lines end with CRLF, LF or a lone CR, also when the CR and LF arrive in different reads;
// - a line starting with ':' is a comment (ignored by browsers; reported here through onComment so a
//   benchmark can see heartbeats);
// - `field: value` splits at the first colon and drops one leading space of the value; a line without
//   a colon is a field name with an empty value;
// - `data` appends value + LF to the data buffer; `event` sets the event type buffer; `id` sets the
//   last event ID buffer unless the value contains U+0000; `retry` sets the reconnection time when the
//   value is ASCII digits only; other fields are ignored;
// - a blank line dispatches: the last event ID is updated, an empty data buffer dispatches nothing,
//   one trailing LF is removed from the data, the type defaults to "message"; the data and type
//   buffers are then reset (the last event ID buffer is not);
// - at end of stream an incomplete event is discarded.

export class SseParser {
  /**
   * @param {{onEvent?: (type: string, data: string, lastEventId: string) => void,
   *          onComment?: (text: string) => void, onRetry?: (ms: number) => void}} handlers
   */
  constructor(handlers = {}) {
    this.onEvent = handlers.onEvent ?? (() => {});
    this.onComment = handlers.onComment ?? null;
    this.onRetry = handlers.onRetry ?? null;
    this.decoder = new TextDecoder('utf-8');
    this.partial = '';        // an unterminated line carried over from the previous read
    this.skipLF = false;      // the previous read ended with CR: a leading LF belongs to it
    this.data = '';
    this.eventType = '';
    this.lastEventIdBuffer = '';
    this.lastEventId = '';
    this.retryMs = -1;
  }

  /** Feeds bytes (Buffer / Uint8Array) of the body. */
  pushBytes(bytes) {
    const s = this.decoder.decode(bytes, { stream: true });
    if (s.length > 0) this.pushText(s);
  }

  /** Feeds already decoded text. */
  pushText(chunk) {
    let s = this.partial.length > 0 ? this.partial + chunk : chunk;
    this.partial = '';
    let pos = 0;
    if (this.skipLF) {
      this.skipLF = false;
      if (s.charCodeAt(0) === 10) pos = 1;
    }
    const n = s.length;
    if (s.indexOf('\r', pos) === -1) {
      // Fast path: LF line endings only.
      let lf = s.indexOf('\n', pos);
      while (lf !== -1) {
        this.line(s, pos, lf);
        pos = lf + 1;
        lf = s.indexOf('\n', pos);
      }
    } else {
      for (;;) {
        const cr = s.indexOf('\r', pos);
        const lf = s.indexOf('\n', pos);
        let end;
        if (cr === -1 && lf === -1) break;
        if (cr === -1 || (lf !== -1 && lf < cr)) {
          end = lf;
          this.line(s, pos, end);
          pos = end + 1;
        } else {
          end = cr;
          this.line(s, pos, end);
          if (end + 1 < n) {
            pos = s.charCodeAt(end + 1) === 10 ? end + 2 : end + 1;
          } else {
            pos = end + 1;
            this.skipLF = true;
          }
        }
      }
    }
    if (pos < n) this.partial = s.slice(pos);
  }

  /** End of stream: an incomplete event is discarded. */
  end() {
    const tail = this.decoder.decode();
    if (tail.length > 0) this.pushText(tail);
    this.partial = '';
    this.data = '';
    this.eventType = '';
  }

  line(s, start, end) {
    if (start === end) { this.dispatch(); return; }
    const first = s.charCodeAt(start);
    if (first === 58 /* : */) {
      if (this.onComment !== null) this.onComment(s.slice(start + 1, end));
      return;
    }
    const colon = s.indexOf(':', start);
    let field, value;
    if (colon === -1 || colon >= end) {
      field = s.slice(start, end);
      value = '';
    } else {
      field = s.slice(start, colon);
      let v = colon + 1;
      if (v < end && s.charCodeAt(v) === 32) v++;
      value = s.slice(v, end);
    }
    switch (field) {
      case 'data': this.data += value + '\n'; break;
      case 'event': this.eventType = value; break;
      case 'id': if (value.indexOf('\0') === -1) this.lastEventIdBuffer = value; break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) {
          this.retryMs = Number(value);
          if (this.onRetry !== null) this.onRetry(this.retryMs);
        }
        break;
      default: break;
    }
  }

  dispatch() {
    this.lastEventId = this.lastEventIdBuffer;
    const data = this.data;
    if (data.length === 0) { this.eventType = ''; return; }
    const type = this.eventType.length > 0 ? this.eventType : 'message';
    this.data = '';
    this.eventType = '';
    this.onEvent(type, data.slice(0, -1), this.lastEventId);
  }
}
