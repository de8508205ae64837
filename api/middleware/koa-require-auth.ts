import { findLiveSession, findLiveSessionWithRoles } from '../../shared/db/queries/sessions.js';
import { AppError } from '../../shared/errors.js';
import type { Services } from '../../shared/services.js';
import type { AppContext, AppMiddleware, AuthState } from '../app-state.js';

type AuthDeps = Pick<Services, 'accessTokens' | 'pool'>;

/** The access token of the request's `Authorization: Bearer` header; undefined when it has none of that shape. */
export function bearerToken(ctx: AppContext): string | undefined {
  return /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/.exec(ctx.get('authorization'))?.[1];
}

/**
 * Checks an access token and its session, which must still be live: a revoked session
 * is refused at once, not when its token expires (401 unauthorized). With `role`, the
 * user must hold it now (read with the session, so a revoked role stops working at the
 * next request): 403 forbidden otherwise.
 */
export async function authenticate({ accessTokens, pool }: AuthDeps, token: string, role?: string): Promise<AuthState> {
  const claims = await accessTokens.verify(token);
  if (role === undefined) {
    if (!(await findLiveSession(pool, claims.sid, claims.sub))) throw new AppError('unauthorized');
  } else {
    const session = await findLiveSessionWithRoles(pool, claims.sid, claims.sub);
    if (!session) throw new AppError('unauthorized');
    if (!session.roles.includes(role)) throw new AppError('forbidden');
  }
  return { userId: claims.sub, sessionId: claims.sid };
}

/** Requires a Bearer access token that authenticate() accepts (with `role`, one whose user holds it). Sets ctx.state.auth. */
export function requireAuth(deps: AuthDeps, role?: string): AppMiddleware {
  return async (ctx, next) => {
    const token = bearerToken(ctx);
    if (!token) throw new AppError('unauthorized');
    ctx.state.auth = await authenticate(deps, token, role);
    return next();
  };
}
