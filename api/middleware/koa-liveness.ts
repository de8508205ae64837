import type { AppMiddleware } from '../app-state.js';
import type { Logger } from '../../shared/logger.js';
import { assignRequestId } from './koa-request-context.js';

/** GET /health's answer (also the router's /health route's, which HEAD and debug-level logging take). */
export const LIVENESS_BODY = { status: 'ok' } as const;

/**
 * The liveness probe's fast path: GET /health answers at once, with its request id and
 * whatever headers the middleware before this one set, without the request context,
 * body parsing and router the other routes need. It proves what liveness means (the
 * process answers HTTP) and stays cheap under load. When debug logging is on, the probe
 * goes the usual way instead, so its access line is still written.
 */
export function liveness(log: Logger): AppMiddleware {
  return (ctx, next) => {
    if (ctx.method !== 'GET' || ctx.path !== '/health' || log.isLevelEnabled('debug')) return next();
    assignRequestId(ctx);
    ctx.body = LIVENESS_BODY;
    return Promise.resolve();
  };
}
