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
  for (const [k, v] of Object.entries(SSE_HEADERS)) res.setHeader(k, v);
  res.removeHeader('Content-Length');
  res.removeHeader('Transfer-Encoding');
  let head = 'HTTP/1.1 200 OK\r\n';
  for (const name of res.getHeaderNames()) {
    const value = res.getHeader(name);
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [String(value)]) {
      // Header values here come from our own middleware; a line break would split the head.
      if (/[\r\n]/.test(v)) continue;
      head += `${name}: ${v}\r\n`;
    }
  }
  return head + '\r\n';
}

/**
 * Takes the socket over from Express for a stream: writes the head itself and from then on
 * writes frames straight to the socket. The body is close-delimited (no chunked framing), so
 * each frame is one socket write with nothing wrapped around it.
 */
export class SocketSink implements SseSink {
  private constructor(private readonly socket: Socket) {}

  /** Writes the 200 head and returns the sink for the rest of the stream. */
  static open(res: ServerResponse): SocketSink {
    const socket = res.socket as Socket;
    socket.setNoDelay(true);
    socket.setTimeout(0);
    // From here on nothing calls the ServerResponse, so Node writes nothing more to this socket.
    socket.write(responseHead(res));
    return new SocketSink(socket);
  }

  write(chunk: Buffer): boolean {
    if (this.socket.destroyed) return false;
    return this.socket.write(chunk);
  }

  writev(chunks: readonly Buffer[]): void {
    if (this.socket.destroyed) return;
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
