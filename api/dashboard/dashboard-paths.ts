/** Where the sign-in page and the dashboard live: the only path the admin cookie is sent to. */
export const ADMIN_PATH = '/admin';

/** Bull Board's base path: the board and its own API, static files and pages under it. */
export const DASHBOARD_PATH = `${ADMIN_PATH}/queues`;

export const SIGN_IN_PATH = `${ADMIN_PATH}/login`;

export const SIGN_OUT_PATH = `${ADMIN_PATH}/logout`;

/** Whether a request path is the dashboard's own (Bull Board's), not a declared route. */
export function isDashboardPath(path: string): boolean {
  return path === DASHBOARD_PATH || path.startsWith(`${DASHBOARD_PATH}/`);
}
