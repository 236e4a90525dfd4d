// Request/response over a child process's IPC channel, with a timeout on every call.
let nextId = 0;

/** Parent side: call(child, cmd, args, timeoutMs) → Promise of the child's result. */
export function call(child, cmd, args = {}, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    const id = ++nextId;
    const timer = setTimeout(() => { cleanup(); reject(new Error(`${cmd}: child ${child.pid} did not answer within ${timeoutMs} ms`)); }, timeoutMs);
    const onMsg = (m) => {
      if (!m || m.id !== id) return;
      cleanup();
      if (m.ok) resolve(m.result); else reject(new Error(`${cmd}: ${m.error}`));
    };
    const onExit = (code, sig) => { cleanup(); reject(new Error(`${cmd}: child ${child.pid} exited (${code ?? sig})`)); };
    function cleanup() { clearTimeout(timer); child.off('message', onMsg); child.off('exit', onExit); }
    child.on('message', onMsg);
    child.on('exit', onExit);
    try { child.send({ id, cmd, args }); } catch (e) { cleanup(); reject(e); }
  });
}

/** Child side: serve(handlers) answers calls; exits when the parent goes away. */
export function serve(handlers) {
  process.on('message', async (m) => {
    if (!m || typeof m.id !== 'number') return;
    const h = handlers[m.cmd];
    try {
      if (!h) throw new Error(`unknown command ${m.cmd}`);
      const result = await h(m.args ?? {});
      process.send({ id: m.id, ok: true, result });
    } catch (e) {
      process.send({ id: m.id, ok: false, error: e && e.stack ? e.stack : String(e) });
    }
  });
  process.on('disconnect', () => process.exit(0));
}
