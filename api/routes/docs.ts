import Router from '@koa/router';
import { renderDocsPage, sendDocsPage } from '../docs/docs-page.js';
import { loadRedocBundle, REDOC_BUNDLE_PATH, sendRedocBundle } from '../docs/redoc-bundle.js';

/** GET /docs: the API reference (Redoc over GET /openapi.json), and the Redoc bundle it loads from the service. */
export function docsRoutes(): Router {
  const bundle = loadRedocBundle();
  const page = renderDocsPage(bundle);
  return new Router()
    .get('/docs', (ctx) => sendDocsPage(ctx, page))
    .get(REDOC_BUNDLE_PATH, (ctx) => sendRedocBundle(ctx, bundle));
}
