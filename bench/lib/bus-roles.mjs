// The client processes of bench/scaling-ceiling.mjs, on raw sockets so that they cost little next to
// Redis (the point is Redis's ceiling, not a client's): a subscriber counts bus messages, a
// publisher keeps pipelined EVALSHA batches of the hub's publish script in flight.
import net from 'node:net';
import { dataJson, publishArgs } from './publish-script.mjs';

/** One command in RESP. */
function resp(parts) {
  const bufs = [Buffer.from(`*${parts.length}\r\n`)];
  for (const p of parts) {
    const b = Buffer.from(String(p));
    bufs.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(bufs);
}

/** A TCP connection to 127.0.0.1:port. */
export function connect(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

function replyOn(handlers) {
  process.on('message', async (m) => {
    const out = await handlers[m.cmd]?.(m);
    process.send({ cmd: m.cmd, ...out });
  });
}

/** One subscribed socket that counts the bus messages it receives. */
async function countingSubscriber(port, chan) {
  const s = await connect(port);
  /** The SUBSCRIBE confirmation, before the first message. */
  const subscribed = Buffer.byteLength(`*3\r\n$9\r\nsubscribe\r\n$${Buffer.byteLength(chan)}\r\n${chan}\r\n:1\r\n`);
  // Every bus message of the bench has the same size, so bytes / size counts them exactly.
  const head = `*3\r\n$7\r\nmessage\r\n$${Buffer.byteLength(chan)}\r\n${chan}\r\n$`;
  const st = { bytes: 0, size: 0, payload: 0, closed: false };
  let first = Buffer.alloc(0);
  s.on('data', (chunk) => {
    st.bytes += chunk.length;
    if (st.size === 0) {
      first = Buffer.concat([first, chunk]);
      const m = first.subarray(subscribed).toString('latin1');
      const at = m.startsWith(head) ? m.indexOf('\r\n', head.length) : -1;
      if (at > 0) {
        st.payload = Number(m.slice(head.length, at));
        st.size = at + 2 + st.payload + 2;
      }
    }
  });
  s.on('close', () => { st.closed = true; });
  s.write(resp(['subscribe', chan]));
  const msgs = () => (st.size ? Math.floor((st.bytes - subscribed) / st.size) : 0);
  return { st, msgs, destroy: () => s.destroy() };
}

/** A subscriber process (args from its command line): --sockets subscribed sockets, each one standing for one hub node. */
export async function subscriberRole(args, prefix) {
  const subs = [];
  for (let i = 0; i < Number(args.sockets ?? 1); i++) subs.push(await countingSubscriber(Number(args.port), `${prefix}bus`));
  replyOn({
    report: () => {
      const counts = subs.map((x) => x.msgs());
      const s0 = subs[0].st;
      return { msgs: Math.min(...counts), total: counts.reduce((a, b) => a + b, 0), payload: s0.payload, size: s0.size, closed: subs.some((x) => x.st.closed) };
    },
    exit: () => { for (const x of subs) x.destroy(); setImmediate(() => process.exit(0)); },
  });
  process.send({ cmd: 'ready' });
}

/** A publisher process (args from its command line): --conns connections, --depth commands per batch, paced at --rate/s or unpaced. */
export async function publisherRole(args, prefix) {
  const depth = Number(args.depth);
  const rate = Number(args.rate ?? 0);
  const cmd = resp(['evalsha', args.sha, 2, ...publishArgs(prefix, { data: dataJson(Number(args.bytes)) })]);
  const batch = Buffer.concat(Array.from({ length: depth }, () => cmd));
  /** The reply of the publish script: the 16-digit id as a bulk string. */
  const REPLY = '$16\r\n'.length + 16 + 2;
  const socks = await Promise.all(Array.from({ length: Number(args.conns) }, () => connect(Number(args.port))));
  let running = false;
  let done = 0;
  let inFlight = 0;
  let failure = null;
  let drained = null;
  let startedAt = 0;
  /** Paced (--rate, publishes/s for this process) or as fast as Redis answers. */
  const sendBatch = (s) => {
    inFlight += depth;
    const due = rate > 0 ? startedAt + ((done + inFlight) / rate) * 1000 - performance.now() : 0;
    if (due <= 1) return void s.write(batch);
    setTimeout(() => {
      if (running) s.write(batch);
      else if ((inFlight -= depth) === 0) drained?.();
    }, due);
  };
  for (const s of socks) {
    let rest = 0; // bytes of the current reply still to come
    let sinceBatch = 0;
    s.on('data', (chunk) => {
      let i = 0;
      while (i < chunk.length) {
        if (rest === 0) {
          if (chunk[i] !== 0x24) { failure ??= chunk.subarray(i, i + 200).toString(); s.destroy(); return; }
          rest = REPLY;
        }
        const take = Math.min(rest, chunk.length - i);
        rest -= take;
        i += take;
        if (rest === 0) {
          done++;
          inFlight--;
          if (++sinceBatch === depth) {
            sinceBatch = 0;
            if (running) sendBatch(s);
          }
        }
      }
      if (inFlight === 0 && drained) drained();
    });
  }
  replyOn({
    // Two batches in flight per connection: Redis always has the next one queued.
    start: () => {
      running = true;
      startedAt = performance.now();
      for (const s of socks) { sendBatch(s); sendBatch(s); }
      return {};
    },
    report: () => ({ done, errors: failure ? 1 : 0, failure }),
    stop: async () => {
      running = false;
      if (inFlight > 0 && !failure) await new Promise((r) => { drained = r; setTimeout(r, 5_000); });
      return { done, errors: failure ? 1 : 0, failure };
    },
    exit: () => { for (const s of socks) s.destroy(); setImmediate(() => process.exit(0)); },
  });
  process.send({ cmd: 'ready' });
}
