import Router from '@koa/router';
import { z } from 'zod';
import { changePassword } from '../../shared/domain/change-password.js';
import { deleteAccount } from '../../shared/domain/delete-account.js';
import { exportUserData } from '../../shared/domain/export-user-data.js';
import type { Services } from '../../shared/services.js';
import { rateLimit } from '../middleware/koa-rate-limit.js';
import { requireAuth, type AuthState } from '../middleware/koa-require-auth.js';
import { requiredString } from '../schemas.js';
import { validate } from '../validate.js';

/** Lengths only bound the input; the domain applies the password policy to the new one. */
const changePasswordSchema = z.object({
  current_password: requiredString(4096),
  new_password: requiredString(4096),
});

const deleteAccountSchema = z.object({ password: requiredString(4096) });

/**
 * The account's lifecycle for its owner: POST /password/change (200, other sessions
 * ended), DELETE /me (204) and GET /me/export (the own data as a JSON download). A wrong
 * password is 401 invalid_credentials, as at login.
 */
export function accountRoutes(services: Services): Router {
  const auth = requireAuth(services);
  const reauthLimit = rateLimit(services.rateLimits, 'reauth', (ctx) => (ctx.state.auth as AuthState).userId);
  return new Router()
    .post('/password/change', auth, reauthLimit, async (ctx) => {
      const user = ctx.state.auth as AuthState;
      const input = validate(changePasswordSchema, ctx.request.body);
      const { sessionsRevoked } = await changePassword(services, user, { current: input.current_password, next: input.new_password });
      ctx.body = { message: 'success', sessions_revoked: sessionsRevoked };
    })
    .delete('/me', auth, reauthLimit, async (ctx) => {
      const { userId } = ctx.state.auth as AuthState;
      const input = validate(deleteAccountSchema, ctx.request.body);
      await deleteAccount(services, userId, input.password);
      ctx.status = 204;
    })
    .get('/me/export', auth, async (ctx) => {
      const { userId } = ctx.state.auth as AuthState;
      ctx.body = await exportUserData(services.pool, userId);
      ctx.set('Content-Disposition', `attachment; filename="user-data-${userId}.json"`);
      ctx.set('Cache-Control', 'no-store');
    });
}
