import type { Queues } from '../../shared/queues/queues.js';
import type { Services } from '../../shared/services.js';
import type { AppContext, AppMiddleware } from '../app-state.js';
import { dashboardAccess } from '../middleware/koa-dashboard-access.js';
import { loadOnce } from '../../shared/load-once.js';
import { isDashboardPath } from './dashboard-paths.js';

/**
 * The dashboard's Content-Security-Policy, in place of the API's (helmet's): Bull Board
 * is a script, and everything it loads must come from the service itself.
 */
const DASHBOARD_CSP: Record<string, string> = {
  // Nothing that is not allowed below (fonts among them: the page's remote ones are dropped).
  'default-src': "'none'",
  // The bundles under static/js; the page's one inline <script> is a JSON data block
  // (type="application/json"), which is never run and so needs no allowance.
  'script-src': "'self'",
  // Bull Board's template styles its loading placeholder with style attributes and a
  // <style> element, and the Redis icon it renders is an inline SVG with a <style> of its
  // own: refused, each is a CSP violation (the board still shows). Style cannot run
  // script, and with img-src and connect-src held to 'self' it cannot send anything elsewhere.
  'style-src': "'self' 'unsafe-inline'",
  // The logo and favicons under static/.
  'img-src': "'self'",
  // Bull Board's own API, and its translations under static/locales.
  'connect-src': "'self'",
  // A form, should one of its dialogs submit one, goes only to the service.
  'form-action': "'self'",
  'frame-ancestors': "'none'",
  // The page names its folder in a <base href>.
  'base-uri': "'self'",
};

const DASHBOARD_CSP_HEADER = Object.entries(DASHBOARD_CSP)
  .map(([directive, sources]) => `${directive} ${sources}`)
  .join('; ');

/** Bull Board's page asks Google Fonts for IBM Plex; its styles fall back to the reader's own sans-serif and monospace. */
const REMOTE_FONTS = /<link\b[^>]*\bhref="https:\/\/fonts\.googleapis\.com\/[^"]*"[^>]*>/g;

/** Bull Board's entry page, without what it would fetch from elsewhere. */
function dropRemoteFonts(ctx: AppContext): void {
  if (typeof ctx.body === 'string' && ctx.response.is('html')) ctx.body = ctx.body.replace(REMOTE_FONTS, '');
}

/**
 * Bull Board at /admin/queues over the process's queues, for administrators only
 * (dashboardAccess), under its own CSP. Its routes are Bull Board's, not declarations,
 * so /openapi.json does not describe them. Other paths pass through.
 */
export function queueDashboard(services: Services, queues: () => Promise<Queues>): AppMiddleware {
  const access = dashboardAccess(services);
  // Built on the first dashboard request (see bull-board.ts); a failed load is tried again on the next.
  const loadBoard = loadOnce(async () => {
    const [module, loaded] = await Promise.all([import('./bull-board.js'), queues()]);
    return module.bullBoard(loaded, services.log);
  });
  return async (ctx, next) => {
    if (!isDashboardPath(ctx.path)) return next();
    await access(ctx, async () => {
      // Only the board's answers: the access check's own pages are the API's small HTML pages, under its CSP.
      ctx.set('Content-Security-Policy', DASHBOARD_CSP_HEADER);
      // Jobs carry events, which name people: kept by no cache (Bull Board's static files set their own).
      ctx.set('Cache-Control', 'no-store');
      await (await loadBoard())(ctx, next);
      dropRemoteFonts(ctx);
    });
  };
}
