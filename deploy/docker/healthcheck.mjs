// Container health check: GET http://127.0.0.1:$PORT<path> (default /health),
// exit 0 on a 2xx answer within 2 s, 1 otherwise. Used by the Dockerfile's
// HEALTHCHECK and the compose files; needs nothing but Node (no curl in the image).
/* global AbortSignal */
const path = process.argv[2] ?? '/health';
const port = Number(process.env.PORT || 3000);
const url = `http://127.0.0.1:${port}${path}`;

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  if (!res.ok) {
    console.error(`${url} answered ${res.status}`);
    process.exit(1);
  }
  process.exit(0);
} catch (err) {
  console.error(`${url} failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
