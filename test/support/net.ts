// Ports for servers and child processes the tests start.
import { createServer, Socket } from 'node:net';

/** The kernel hands out outgoing ports from 32768 up; ports below it cannot be taken by a client meanwhile. */
const PORT_BASE = 20_000;
const PORT_SPAN = 10_000;
const PORT_ATTEMPTS = 50;

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** `n` consecutive loopback ports that were free a moment ago, below the kernel's ephemeral range. */
export async function freeConsecutivePorts(n: number): Promise<number> {
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const base = PORT_BASE + Math.floor(Math.random() * PORT_SPAN);
    let ok = true;
    for (let i = 0; i < n && ok; i++) ok = await bindable(base + i);
    if (ok) return base;
  }
  throw new Error(`no ${n} consecutive free ports`);
}

/** A loopback port that was free a moment ago (below the ephemeral range, see PORT_BASE). */
export function freePort(): Promise<number> {
  return freeConsecutivePorts(1);
}

/** True when something accepts TCP connections at host:port within the timeout. */
export function reachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = new Socket();
    const done = (v: boolean): void => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('error', () => done(false));
    sock.connect(port, host, () => done(true));
  });
}
