import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Router } from 'express';
import { sendError } from '../errors.js';

/**
 * The client bundle `npm run build` writes (scripts/build-sdk.mjs). Three levels up from this
 * file is the package root both from src/http/routes (tests) and from dist/http/routes.
 */
export const SDK_BUNDLE = fileURLToPath(new URL('../../../dist/sdk/roomcast.js', import.meta.url));
/**
 * How long browsers and proxies may reuse the module without asking, in seconds. Short, since the
 * URL carries no version; after that the ETag makes a check cheap (304).
 */
export const SDK_MAX_AGE_SEC = 300;

/** The bundle read once, with its ETag. */
interface Bundle {
  body: Buffer;
  etag: string;
}

/** `GET /sdk/roomcast.js`: the client library as one ES module, for pages without a bundler. */
export function sdkRouter(): Router {
  const router = Router();
  let bundle: Promise<Bundle> | undefined;
  const load = (): Promise<Bundle> => {
    bundle ??= readFile(SDK_BUNDLE).then((body) => ({ body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` }));
    // A missing bundle is looked for again next time (a build may be running).
    bundle.catch(() => {
      bundle = undefined;
    });
    return bundle;
  };

  router.get('/sdk/roomcast.js', async (req, res) => {
    let b: Bundle;
    try {
      b = await load();
    } catch {
      sendError(res, 'not_found', 'the client bundle is not built: run `npm run build`');
      return;
    }
    res.set({
      'Content-Type': 'text/javascript; charset=utf-8',
      'Cache-Control': `public, max-age=${SDK_MAX_AGE_SEC}`,
      ETag: b.etag,
    });
    if (req.fresh) {
      res.status(304).end();
      return;
    }
    res.send(b.body);
  });

  return router;
}
