import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { Context } from 'koa';

/** Where the service serves Redoc's standalone bundle; the page asks for it with `?v=<hash>`. */
export const REDOC_BUNDLE_PATH = '/docs/redoc.standalone.js';

/**
 * The one address in Redoc 2.5's bundle that the page would fetch from elsewhere: the
 * Redocly logo beside "API docs by Redocly" in the sidebar, which no option turns off. With
 * an empty src the image fails at once, without a request, and Redoc's own error handler
 * removes it; the link text stays. Should a Redoc upgrade move the logo, the docs page's
 * browser test (no request to another origin) says so.
 */
const REDOCLY_LOGO = 'src:"https://cdn.redoc.ly/redoc/logo-mini.svg"';

export interface RedocBundle {
  body: Buffer;
  /** Content hash: the ETag, and the `v` of the URL the page loads it from. */
  hash: string;
  /** The URL the docs page loads the bundle from. */
  url: string;
}

/** Reads Redoc's standalone bundle from the installed package, without the logo fetched from Redocly's CDN. */
export function loadRedocBundle(): RedocBundle {
  const file = createRequire(import.meta.url).resolve('redoc/bundles/redoc.standalone.js');
  const body = Buffer.from(fs.readFileSync(file, 'utf8').replaceAll(REDOCLY_LOGO, 'src:""'));
  const hash = crypto.createHash('sha256').update(body).digest('base64url').slice(0, 22);
  return { body, hash, url: `${REDOC_BUNDLE_PATH}?v=${hash}` };
}

export type RedocBundleReply = { status: 200; raw: Buffer; headers: Record<string, string> } | { status: 304; headers: Record<string, string> };

/**
 * The answer to a request for the bundle asked under `version`. Under the page's hash it
 * may be cached for a year; under any other (a page from before an upgrade) a cache
 * revalidates each time. The ETag makes a revalidation cost nothing.
 */
export function redocBundleReply(ctx: Context, bundle: RedocBundle, version: string | undefined): RedocBundleReply {
  const headers = { 'Cache-Control': version === bundle.hash ? 'public, max-age=31536000, immutable' : 'no-cache' };
  ctx.etag = bundle.hash;
  // ctx.fresh compares the request's validators with this response's, which needs a 2xx status.
  ctx.status = 200;
  return ctx.fresh ? { status: 304, headers } : { status: 200, raw: bundle.body, headers };
}
