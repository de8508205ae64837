import { findLiveSession, findLiveSessionWithRoles } from '../../shared/db/queries/sessions.js';
import { AppError } from '../../shared/errors.js';
import type { Services } from '../../shared/services.js';
import type { AppMiddleware } from '../app-state.js';

/**
 * Requires a valid Bearer access token whose session is still live: a revoked session
 * is refused at once, not when its token expires. With `role`, the user must hold it
 * now (read with the session, so a revoked role stops working at the next request):
 * 403 forbidden otherwise. Sets ctx.state.auth.
 */
export function requireAuth({ accessTokens, pool }: Pick<Services, 'accessTokens' | 'pool'>, role?: string): AppMiddleware {
  return async (ctx, next) => {
    const match = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/.exec(ctx.get('authorization'));
    if (!match) throw new AppError('unauthorized');
    const claims = await accessTokens.verify(match[1]!);
    if (role === undefined) {
      if (!(await findLiveSession(pool, claims.sid, claims.sub))) throw new AppError('unauthorized');
    } else {
      const session = await findLiveSessionWithRoles(pool, claims.sid, claims.sub);
      if (!session) throw new AppError('unauthorized');
      if (!session.roles.includes(role)) throw new AppError('forbidden');
    }
    ctx.state.auth = { userId: claims.sub, sessionId: claims.sid };
    return next();
  };
}
