import crypto from 'node:crypto';
import type { Logger } from '../../shared/logger.js';
import type { AppContext, AppMiddleware } from '../app-state.js';

const SAFE_REQUEST_ID = /^[\w.-]{1,128}$/;
/** Probes hit these every few seconds; their access lines go to debug. */
const QUIET_PATHS = new Set(['/health', '/ready']);

/** The request's id (a caller's safe x-request-id, else a UUID), kept in ctx.state and echoed in the response. */
export function assignRequestId(ctx: AppContext): string {
  const given = ctx.get('x-request-id');
  const requestId = SAFE_REQUEST_ID.test(given) ? given : crypto.randomUUID();
  ctx.state.requestId = requestId;
  ctx.set('x-request-id', requestId);
  return requestId;
}

/**
 * Gives each request an id (a caller's safe x-request-id, else a UUID), echoes it in
 * the response, and a logger of its own (ctx.state.log) that puts the id on every line;
 * writes one access line per request. The line has the path but never the query
 * string, which may carry a token.
 */
export function requestContextMiddleware(log: Logger): AppMiddleware {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    ctx.state.receivedAt = performance.now();
    const requestLogger = log.child({ request_id: assignRequestId(ctx) });
    ctx.state.log = requestLogger;
    try {
      await next();
    } finally {
      const line = {
        method: ctx.method,
        path: ctx.path,
        status: ctx.status,
        duration_ms: Number(process.hrtime.bigint() - started) / 1e6,
        ip: ctx.state.clientIp,
      };
      if (QUIET_PATHS.has(ctx.path)) requestLogger.debug(line, 'request');
      else requestLogger.info(line, 'request');
    }
  };
}
