import type { Context, Middleware } from 'koa';
import type { RateLimitAction } from '../../shared/config/rate-limit-settings.js';
import type { RateLimits } from '../../shared/rate-limit/rate-limits.js';
import { requestLog } from './koa-request-context.js';

/** The body's `email` when it is a string (the route's schema judges it afterwards). */
export function bodyEmail(ctx: Context): string | undefined {
  const email = (ctx.request.body as { email?: unknown } | undefined)?.email;
  return typeof email === 'string' ? email : undefined;
}

/**
 * Counts every request of `action` against its limits before the route runs: 429
 * rate_limited with Retry-After once one is spent. `accountOf` names the account the
 * request is about, where the route knows it before doing the work.
 */
export function rateLimit(limits: RateLimits, action: RateLimitAction, accountOf?: (ctx: Context) => string | undefined): Middleware {
  return async (ctx, next) => {
    await limits.consume(action, { ip: ctx.state.clientIp, account: accountOf?.(ctx) }, { log: requestLog(ctx) });
    return next();
  };
}
