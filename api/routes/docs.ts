import { z } from 'zod';
import { defineRoute, type RouteDeclaration } from '../contract/route-declaration.js';
import { DOCS_PAGE_HEADERS, renderDocsPage } from '../docs/docs-page.js';
import { loadRedocBundle, REDOC_BUNDLE_PATH, redocBundleReply } from '../docs/redoc-bundle.js';

/** GET /docs, the reference for a person (Redoc over GET /openapi.json), and the Redoc bundle it loads from the service. */
export function docsRoutes(): RouteDeclaration[] {
  const bundle = loadRedocBundle();
  const page = renderDocsPage(bundle);
  return [
    defineRoute({
      method: 'get',
      path: '/docs',
      operationId: 'docsPage',
      summary: 'This reference as a page: the OpenAPI document rendered by Redoc',
      description: 'Everything it loads comes from the service itself, under a Content-Security-Policy that allows no other origin.',
      tag: 'Reference',
      access: 'public',
      responses: { 200: { description: 'The page.', raw: 'text/html' } },
    }).handle(() => ({ status: 200, raw: page, headers: { ...DOCS_PAGE_HEADERS } })),
    defineRoute({
      method: 'get',
      path: REDOC_BUNDLE_PATH,
      operationId: 'redocBundle',
      summary: "Redoc's standalone bundle, which the docs page runs",
      tag: 'Reference',
      access: 'public',
      request: { query: z.object({ v: z.string().max(64).optional().meta({ description: 'The content hash the page names; under it the bundle may be cached for a year.' }) }) },
      responses: {
        200: { description: 'The script.', raw: 'text/javascript' },
        304: { description: 'The script is the one the client holds (If-None-Match).' },
      },
    }).handle(({ ctx, query }) => redocBundleReply(ctx, bundle, query.v)),
  ];
}
