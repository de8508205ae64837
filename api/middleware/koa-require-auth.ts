import { findLiveSession } from '../../shared/db/queries/sessions.js';
import { AppError } from '../../shared/errors.js';
import type { Services } from '../../shared/services.js';
import type { AppMiddleware } from '../app-state.js';

/**
 * Requires a valid Bearer access token whose session is still live: a revoked session
 * is refused at once, not when its token expires. Sets ctx.state.auth.
 */
export function requireAuth({ accessTokens, pool }: Pick<Services, 'accessTokens' | 'pool'>): AppMiddleware {
  return async (ctx, next) => {
    const match = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/.exec(ctx.get('authorization'));
    if (!match) throw new AppError('unauthorized');
    const claims = await accessTokens.verify(match[1]!);
    const session = await findLiveSession(pool, claims.sid, claims.sub);
    if (!session) throw new AppError('unauthorized');
    ctx.state.auth = { userId: claims.sub, sessionId: claims.sid };
    return next();
  };
}
