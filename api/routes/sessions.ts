import Router from '@koa/router';
import { endAllSessions, endSession, listUserSessions } from '../../shared/domain/end-sessions.js';
import { AppError } from '../../shared/errors.js';
import type { Services } from '../../shared/services.js';
import { requireAuth, type AuthState } from '../middleware/koa-require-auth.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The signed-in user's sessions: GET /me/sessions (the live ones, the caller's marked
 * current), DELETE /me/sessions/:id, POST /logout (this session) and POST /logout/all
 * (every session). Each revocation takes effect on the next request: requireAuth
 * looks the session up every time.
 */
export function sessionRoutes(services: Services): Router {
  const auth = requireAuth(services);
  return new Router()
    .get('/me/sessions', auth, async (ctx) => {
      const { userId, sessionId } = ctx.state.auth as AuthState;
      ctx.body = { sessions: await listUserSessions(services.pool, userId, sessionId, services.config.sessions.idleTimeoutSeconds) };
    })
    .delete('/me/sessions/:id', auth, async (ctx) => {
      const { userId } = ctx.state.auth as AuthState;
      const id = ctx.params.id ?? '';
      // Not a UUID cannot be a session: the same 404 as someone else's, without a query.
      if (!UUID.test(id)) throw new AppError('not_found');
      await endSession(services.pool, userId, id.toLowerCase(), 'user');
      ctx.status = 204;
    })
    .post('/logout', auth, async (ctx) => {
      const { userId, sessionId } = ctx.state.auth as AuthState;
      await endSession(services.pool, userId, sessionId, 'logout');
      ctx.status = 204;
    })
    .post('/logout/all', auth, async (ctx) => {
      const { userId } = ctx.state.auth as AuthState;
      await endAllSessions(services.pool, userId);
      ctx.status = 204;
    });
}
