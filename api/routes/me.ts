import Router from '@koa/router';
import { describeUser } from '../../shared/domain/describe-user.js';
import type { Services } from '../../shared/services.js';
import { requireAuth, type AuthState } from '../middleware/koa-require-auth.js';

/** The signed-in user's own account. */
export function meRoutes(services: Services): Router {
  return new Router().get('/me', requireAuth(services), async (ctx) => {
    const { userId } = ctx.state.auth as AuthState;
    ctx.body = await describeUser(services.pool, userId);
  });
}
