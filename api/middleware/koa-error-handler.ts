import { isDatabaseUnavailable, type DatabaseOutage } from '../../shared/db/database-outage.js';
import { AppError, errorBody, type ErrorCode } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { AppMiddleware } from '../app-state.js';
import { failedFormPage } from '../pages/failed-form-pages.js';
import { isFormPost, sendPage } from '../pages/render-page.js';

/** Errors thrown by Koa and its helpers (http-errors) that describe the client's fault. */
const HTTP_ERROR_CODES: Record<number, ErrorCode> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  501: 'not_implemented',
};

/** How soon a client may try again while PostgreSQL is away (a restart takes a few seconds). */
const DATABASE_RETRY_AFTER_SECONDS = '2';

function toAppError(error: unknown, databaseOutage?: DatabaseOutage): AppError | undefined {
  if (error instanceof AppError) return error;
  if (isDatabaseUnavailable(error)) {
    databaseOutage?.failed(error as Error);
    return new AppError('unavailable', { headers: { 'Retry-After': DATABASE_RETRY_AFTER_SECONDS } });
  }
  const status = (error as { status?: number; expose?: boolean }).status;
  const code = status === undefined ? undefined : HTTP_ERROR_CODES[status];
  return code ? new AppError(code) : undefined;
}

/**
 * The one place that turns failures into the contract's error body. Expected errors
 * keep their code; PostgreSQL being away (restart, failover) is 503 unavailable with
 * Retry-After, logged once per outage; anything else is logged with its stack and
 * answered as 500 internal.
 * An unmatched route becomes 404 not_found in the same shape, an unknown method 501.
 * A form post to one of `formPaths` (the HTML pages' own routes) gets a page with the
 * same status and headers instead, since a person at a browser reads it.
 */
export function errorHandler(log: Logger, formPaths: readonly string[] = [], databaseOutage?: DatabaseOutage): AppMiddleware {
  return async (ctx, next) => {
    let appError: AppError | undefined;
    try {
      await next();
      // A route left unanswered (404), or a method the router refused without a body (405, 501).
      const code = ctx.body === undefined ? HTTP_ERROR_CODES[ctx.status] : undefined;
      if (code) appError = new AppError(code);
    } catch (error) {
      appError = toAppError(error, databaseOutage);
      if (!appError) {
        (ctx.state.log ?? log).error({ err: error }, 'unhandled error');
        appError = new AppError('internal');
      }
    }
    if (!appError) return;
    if (formPaths.includes(ctx.path) && isFormPost(ctx)) {
      sendPage(ctx, appError.status, failedFormPage(appError));
    } else {
      ctx.status = appError.status;
      ctx.body = errorBody(appError);
    }
    for (const [name, value] of Object.entries(appError.headers ?? {})) ctx.set(name, value);
  };
}
