import { ADMIN_ROLE } from '../../shared/domain/manage-roles.js';
import { AppError } from '../../shared/errors.js';
import type { Services } from '../../shared/services.js';
import type { AppContext, AppMiddleware } from '../app-state.js';
import { adminCookieToken } from '../dashboard/admin-cookie.js';
import { SIGN_IN_PATH } from '../dashboard/dashboard-paths.js';
import { adminSignInRequiredPage, notAdminPage } from '../pages/admin-sign-in-pages.js';
import { sendPage } from '../pages/render-page.js';
import { authenticate, bearerToken } from './koa-require-auth.js';

/** Methods that only read; every other one may change jobs or queues (Bull Board uses PUT, PATCH and POST). */
const READING_METHODS = new Set(['GET', 'HEAD']);

type Credential = { kind: 'bearer' | 'cookie'; token: string | undefined };

/** The request's credential: an Authorization header wins (and must be a Bearer token), then the dashboard cookie. */
function credentialOf(ctx: AppContext): Credential | undefined {
  if (ctx.get('authorization') !== '') return { kind: 'bearer', token: bearerToken(ctx) };
  const cookie = adminCookieToken(ctx);
  return cookie ? { kind: 'cookie', token: cookie } : undefined;
}

/**
 * A person at a browser, who reads a page, rather than a program or Bull Board's own
 * requests (which accept JSON first): a navigation asks for text/html above anything else.
 */
function wantsPage(ctx: AppContext): boolean {
  return ctx.accepts('json', 'html') === 'html';
}

/**
 * A request that changes something must come from the service's own pages: its Origin
 * must be PUBLIC_URL's. Browsers send Origin on every such request, so a missing one is
 * only accepted from a Bearer caller, a program that no other site can make a browser
 * send a token for. SameSite=Strict already keeps the cookie off cross-site requests;
 * this also refuses a sibling site or a page served elsewhere on the same site.
 */
function isFromOwnOrigin(ctx: AppContext, credential: Credential, publicOrigin: string): boolean {
  const origin = ctx.get('origin');
  return origin === '' ? credential.kind === 'bearer' : origin === publicOrigin;
}

/**
 * Who may use the dashboard: an administrator, by Bearer token or by the dashboard
 * cookie, judged on the live session with the role read now, at every request (like
 * `access: 'role:admin'`). Without a usable credential a browser navigation is sent to
 * the sign-in form (303) and anything else gets 401; a non-administrator gets 403 (a
 * page for a browser). Sets ctx.state.auth.
 */
export function dashboardAccess(services: Pick<Services, 'accessTokens' | 'pool' | 'config'>): AppMiddleware {
  const publicOrigin = new URL(services.config.publicUrl).origin;
  return async (ctx, next) => {
    const credential = credentialOf(ctx);
    if (!READING_METHODS.has(ctx.method) && credential && !isFromOwnOrigin(ctx, credential, publicOrigin)) {
      throw new AppError('forbidden', { message: 'A change to the queues must come from the dashboard itself (its Origin).' });
    }
    try {
      if (!credential?.token) throw new AppError('unauthorized');
      ctx.state.auth = await authenticate(services, credential.token, ADMIN_ROLE);
    } catch (error) {
      if (!(error instanceof AppError) || !wantsPage(ctx)) throw error;
      if (error.code === 'forbidden') return sendPage(ctx, 403, notAdminPage());
      if (error.code !== 'unauthorized') throw error;
      ctx.set('Location', SIGN_IN_PATH);
      return sendPage(ctx, 303, adminSignInRequiredPage());
    }
    return next();
  };
}
