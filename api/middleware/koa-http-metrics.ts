import type { Histogram } from 'prom-client';
import type { AppContext, AppMiddleware } from '../app-state.js';
import { DASHBOARD_PATH, isDashboardPath } from '../dashboard/dashboard-paths.js';

/** The route label of a request no declared route matched: never the raw path, which anyone can vary. */
export const UNMATCHED_ROUTE = 'unmatched';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** What @koa/router leaves on the context: the template of the route that matched. */
type RoutedContext = AppContext & { _matchedRoute?: string | RegExp };

/**
 * The route template of a request (`/me/sessions/:id`): the router's match, the
 * dashboard's own routes as one label, the liveness fast path (answered before the
 * router) as /health, everything else UNMATCHED_ROUTE. The labels stay a fixed set.
 */
function routeLabel(ctx: RoutedContext): string {
  const matched = ctx._matchedRoute;
  if (typeof matched === 'string') return matched;
  if (isDashboardPath(ctx.path)) return `${DASHBOARD_PATH}/*`;
  if (ctx.path === '/health' && ctx.status === 200) return '/health';
  return UNMATCHED_ROUTE;
}

/**
 * Times every request of the public API into http_request_duration_seconds, with the
 * status the client got: it runs first, outside the error handler.
 */
export function httpMetrics(histogram: Histogram<'route' | 'method' | 'status'>): AppMiddleware {
  return async (ctx, next) => {
    const end = histogram.startTimer();
    try {
      await next();
    } finally {
      end({ route: routeLabel(ctx), method: METHODS.has(ctx.method) ? ctx.method : 'other', status: String(ctx.status) });
    }
  };
}
