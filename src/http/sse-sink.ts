import type { Socket } from 'node:net';
import type { ServerResponse } from 'node:http';
import type { SseSink } from '../core/connection.js';

/** The stream's own headers; never compressed, never buffered by proxies. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
  Connection: 'close',
};

/** The response head as bytes: the headers middleware set (helmet, CORS) plus the SSE ones. */
function responseHead(res: ServerResponse): string {
  // The headers already set on the response (CORS, nosniff), then the stream's own; the response
  // itself is left untouched, so a refusal can still use it.
  const own = new Set(Object.keys(SSE_HEADERS).map((k) => k.toLowerCase()));
  own.add('content-length').add('transfer-encoding');
  let head = 'HTTP/1.1 200 OK\r\n';
  const add = (name: string, value: string): void => {
    // Header values come from our own code; a line break would split the head.
    if (!/[\r\n]/.test(value)) head += `${name}: ${value}\r\n`;
  };
  for (const name of res.getHeaderNames()) {
    const value = res.getHeader(name);
    if (value === undefined || own.has(name)) continue;
    for (const v of Array.isArray(value) ? value : [String(value)]) add(name, v);
  }
  for (const [name, value] of Object.entries(SSE_HEADERS)) add(name, value);
  return head + '\r\n';
}

/**
 * Takes the socket over for a stream: writes the head itself and from then on writes frames
 * straight to the socket. The body is close-delimited (no chunked framing), so each frame is one
 * socket write with nothing wrapped around it.
 */
export class SocketSink implements SseSink {
  /** The 200 head, until the first write sends it. */
  private head: string | null;

  private constructor(private readonly socket: Socket, res: ServerResponse) {
    this.head = responseHead(res);
  }

  /**
   * The sink for a response. Nothing is written until the first frame: until then the hub may
   * still refuse the stream with an ordinary HTTP error.
   */
  static open(res: ServerResponse): SocketSink {
    const socket = res.socket as Socket;
    socket.setNoDelay(true);
    socket.setTimeout(0);
    const sink = new SocketSink(socket, res);
    // The response object is done with (its head is in the sink): unhooked from the socket, it
    // and its buffers are not kept alive for the stream's whole life.
    res.detachSocket(socket);
    return sink;
  }

  write(chunk: Buffer): boolean {
    if (this.socket.destroyed) return false;
    const head = this.head;
    if (head === null) return this.socket.write(chunk);
    // The head goes out with the first frame, in one write. From then on nothing calls the ServerResponse.
    this.head = null;
    return this.socket.write(Buffer.concat([Buffer.from(head, 'latin1'), chunk]));
  }

  writev(chunks: readonly Buffer[]): void {
    if (this.socket.destroyed) return;
    if (this.head !== null) {
      this.write(chunks[0] ?? Buffer.alloc(0));
      chunks = chunks.slice(1);
    }
    this.socket.cork();
    for (const c of chunks) this.socket.write(c);
    this.socket.uncork();
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  get closed(): boolean {
    return this.socket.destroyed || !this.socket.writable;
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  drained(): Promise<void> {
    if (this.socket.destroyed || this.socket.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }
}
