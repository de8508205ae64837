import type { RateLimitAction } from '../../shared/config/rate-limit-settings.js';
import type { RateLimits } from '../../shared/rate-limit/rate-limits.js';
import type { AppContext, AppMiddleware } from '../app-state.js';

/**
 * Counts every request of `action` against its limits before the route runs: 429
 * rate_limited with Retry-After once one is spent. `accountOf` names the account the
 * request is about, where the route knows it before doing the work.
 */
export function rateLimit(limits: RateLimits, action: RateLimitAction, accountOf?: (ctx: AppContext) => string | undefined): AppMiddleware {
  return async (ctx, next) => {
    await limits.consume(action, { ip: ctx.state.clientIp, account: accountOf?.(ctx) }, { log: ctx.state.log });
    return next();
  };
}
