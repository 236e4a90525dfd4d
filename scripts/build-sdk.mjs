// Bundles the client library (src/client, which tsc also compiles to dist/client for
// `roomcast/client`) into the one ES module the hub serves at GET /sdk/roomcast.js.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

await build({
  entryPoints: [new URL('../src/client/index.ts', import.meta.url).pathname],
  outfile: new URL('../dist/sdk/roomcast.js', import.meta.url).pathname,
  bundle: true,
  format: 'esm',
  // Neutral: no Node built-ins and no browser shims; the code uses only what both provide.
  platform: 'neutral',
  target: 'es2022',
  legalComments: 'none',
  banner: { js: `// roomcast client ${version}: RoomcastClient and RoomcastPublisher for browsers and Node.js 20+ (see docs/client.md).` },
  logLevel: 'warning',
});
