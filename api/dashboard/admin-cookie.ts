import type { Config } from '../../shared/config/config.js';
import type { AppContext } from '../app-state.js';
import { ADMIN_PATH } from './dashboard-paths.js';

const COOKIE_NAME = 'admin_session';

/**
 * The dashboard's cookie holds the access token the sign-in issued, so a request with it
 * is judged exactly like one with that token as Bearer: signature, live session and the
 * role now. It lives as long as the token. HttpOnly keeps it from scripts; SameSite=Strict
 * keeps it off requests that another site starts; Secure where the service is reached
 * over https (PUBLIC_URL), so that it is never sent in the clear.
 */
function attributes(config: Pick<Config, 'publicUrl'>, maxAgeSeconds: number): string {
  const secure = new URL(config.publicUrl).protocol === 'https:';
  return `Max-Age=${maxAgeSeconds}; Path=${ADMIN_PATH}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** The Set-Cookie value that hands a browser its dashboard session. */
export function adminCookie(config: Pick<Config, 'publicUrl'>, accessToken: string, maxAgeSeconds: number): string {
  return `${COOKIE_NAME}=${accessToken}; ${attributes(config, maxAgeSeconds)}`;
}

/** The Set-Cookie value that makes the browser drop it. */
export function clearedAdminCookie(config: Pick<Config, 'publicUrl'>): string {
  return `${COOKIE_NAME}=; ${attributes(config, 0)}`;
}

/** The access token of the request's dashboard cookie, if it has one. */
export function adminCookieToken(ctx: AppContext): string | undefined {
  return ctx.cookies.get(COOKIE_NAME) || undefined;
}
