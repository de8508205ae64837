import type { Middleware } from 'koa';
import { findLiveSession } from '../../shared/db/queries/sessions.js';
import { AppError } from '../../shared/errors.js';
import type { Services } from '../../shared/services.js';

export interface AuthState {
  userId: string;
  sessionId: string;
}

/**
 * Requires a valid Bearer access token whose session is still live: a revoked session
 * is refused at once, not when its token expires.
 */
export function requireAuth({ accessTokens, pool }: Pick<Services, 'accessTokens' | 'pool'>): Middleware {
  return async (ctx, next) => {
    const match = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/.exec(ctx.get('authorization'));
    if (!match) throw new AppError('unauthorized');
    const claims = await accessTokens.verify(match[1]!);
    const session = await findLiveSession(pool, claims.sid, claims.sub);
    if (!session) throw new AppError('unauthorized');
    ctx.state.auth = { userId: claims.sub, sessionId: claims.sid } satisfies AuthState;
    return next();
  };
}
