/** One dispatched Server-Sent Events frame. */
export interface SseFrame {
  /** The frame's own `id:` field, when it had one (the hub sets it on published events only). */
  id: string | undefined;
  /** The `event:` field; `message` when absent. */
  event: string;
  /** The `data:` lines joined with `\n`. */
  data: string;
}

/** What the parser reports besides frames. */
export interface SseHandlers {
  frame(frame: SseFrame): void;
  /** A `retry:` field with a whole number of milliseconds. */
  retry(ms: number): void;
}

/**
 * An incremental parser for `text/event-stream`, fed decoded text in chunks of any size.
 * Follows the HTML standard's rules: CR, LF or CRLF end a line (a CR at the end of one chunk
 * and the LF at the start of the next are one line end), `:` starts a comment, one space after
 * the colon is dropped, a blank line dispatches, a frame without data is not dispatched.
 */
export class SseParser {
  private buf = '';
  private started = false;
  private pendingCr = false;
  private data: string[] = [];
  private hasData = false;
  private event = '';
  private id: string | undefined;

  constructor(private readonly on: SseHandlers) {}

  /** Parses a chunk of decoded text. */
  push(chunk: string): void {
    let text = chunk;
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buf += text;
    let start = 0;
    for (;;) {
      const cr = this.buf.indexOf('\r', start);
      const lf = this.buf.indexOf('\n', start);
      if (cr < 0 && lf < 0) break;
      const end = cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf);
      this.line(this.buf.slice(start, end));
      if (end === cr && this.buf.charCodeAt(end + 1) === 10) start = end + 2;
      else {
        // A CR as the last character may be the first half of a CRLF split across chunks.
        if (end === cr && end === this.buf.length - 1) this.pendingCr = true;
        start = end + 1;
      }
    }
    this.buf = this.buf.slice(start);
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ':' comment (the hub's heartbeat)
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        this.hasData = true;
        break;
      case 'event':
        this.event = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.id = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.on.retry(Number(value));
        break;
      default:
        break;
    }
  }

  private dispatch(): void {
    const frame: SseFrame = { id: this.id, event: this.event || 'message', data: this.data.join('\n') };
    const has = this.hasData;
    this.data = [];
    this.hasData = false;
    this.event = '';
    this.id = undefined;
    if (has) this.on.frame(frame);
  }
}
